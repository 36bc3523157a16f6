/**
 * A list answer (tools/list, prompts/list, resources/list, resources/templates/list) that passes
 * the depth limit because of some of its items is still answered without them: one tool with a
 * schema nested 10,000 deep must not take away the server's other tools. JSON.parse is iterative,
 * so parsing such a text is safe; the depth of each item is measured here without recursion.
 */
import type { JsonRpcMessage } from './jsonrpc';

const LIST_MEMBERS = ['tools', 'prompts', 'resources', 'resourceTemplates'] as const;

/** What was dropped from a list answer, by name (or URI). */
export interface Pruned {
  message: JsonRpcMessage;
  dropped: string[];
}

/**
 * The list response `value` without its items deeper than `maxDepth` allows (counted from the
 * message), or undefined when it is no list response or is too deep elsewhere too.
 */
export function pruneDeepItems(value: unknown, maxDepth: number): Pruned | undefined {
  const result = (value as { result?: unknown } | null)?.result;
  if (typeof result !== 'object' || result === null) return undefined;
  const r = result as Record<string, unknown>;
  const dropped: string[] = [];
  const kept: Record<string, unknown> = { ...r };
  for (const member of LIST_MEMBERS) {
    const items = r[member];
    if (!Array.isArray(items)) continue;
    // an item sits at depth 4: the message, result, the array, the item
    kept[member] = items.filter((item) => {
      const ok = depthOf(item, maxDepth - 3) <= maxDepth - 3;
      if (!ok) dropped.push(nameOf(item));
      return ok;
    });
  }
  const message = { ...(value as object), result: kept } as JsonRpcMessage;
  if (dropped.length === 0 || depthOf(message, maxDepth) > maxDepth) return undefined;
  return { message, dropped };
}

/** How deep `value` nests (a scalar is 0, `[]` is 1), counting no further than `stopAbove` + 1. */
export function depthOf(value: unknown, stopAbove: number): number {
  let deepest = 0;
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!;
    if (typeof v !== 'object' || v === null) continue;
    if (depth > deepest) deepest = depth;
    if (deepest > stopAbove) return deepest;
    for (const child of Array.isArray(v) ? v : Object.values(v)) if (typeof child === 'object' && child !== null) stack.push([child, depth + 1]);
  }
  return deepest;
}

function nameOf(item: unknown): string {
  const o = item as Record<string, unknown> | null;
  const name = o?.name ?? o?.uri ?? o?.uriTemplate;
  return typeof name === 'string' ? name.slice(0, 200) : '(unnamed)';
}
