/**
 * Which forwarded requests are safe to send twice: what a retry on another backend may repeat once
 * the first backend may have started on it. Reads, gets, lists, ping, discovery and completions
 * change nothing; a tool call is safe only when the server says so in its annotations
 * (`idempotentHint` or `readOnlyHint`) or the config names the tool (`retry.idempotentTools`).
 * Pure: no I/O.
 */
import type { Catalog } from '../servers/lists';

/** Safe whatever they name, as is every method ending in /list; haproxy/mcp-lb.cfg repeats the same ones. */
export const SAFE_METHODS: ReadonlySet<string> = new Set(['ping', 'server/discover', 'prompts/get', 'resources/read', 'completion/complete']);

export interface IdempotencyFacts {
  method: string;
  /** The tool a tools/call names, as the server names it. */
  tool?: string;
  /** The catalog of the backend that answers for the server (its tools' annotations). */
  catalog: Catalog;
  /** `retry.idempotentTools` of the server. */
  idempotentTools: readonly string[];
}

export function isIdempotent({ method, tool, catalog, idempotentTools }: IdempotencyFacts): boolean {
  if (SAFE_METHODS.has(method) || method.endsWith('/list')) return true;
  if (method !== 'tools/call' || tool === undefined) return false;
  if (idempotentTools.includes(tool)) return true;
  return safeByAnnotations(catalog.tools.find((t) => t.name === tool)?.annotations);
}

/** A tool its server says is safe to call twice: annotated `idempotentHint` or `readOnlyHint`. */
export function safeByAnnotations(annotations: unknown): boolean {
  const a = annotations as { idempotentHint?: unknown; readOnlyHint?: unknown } | undefined;
  return a?.idempotentHint === true || a?.readOnlyHint === true;
}
