/**
 * The routing headers of a 2026-07-28 request over Streamable HTTP: `MCP-Protocol-Version`,
 * `Mcp-Method`, and `Mcp-Name` for the methods that name a tool, a prompt or a resource, so that
 * intermediaries can route without reading the body, its value encoded as mirrored-headers.ts says.
 * The gateway's front checks them against the body; its upstream transport sets them from the body.
 */
import { META } from './eras';
import type { JsonRpcMessage } from './jsonrpc';
import { encodeHeaderValue } from './mirrored-headers';
import { asObject } from './objects';

/** The methods whose Mcp-Name header carries a field of the body, and which field. */
export const NAME_FIELD: ReadonlyMap<string, 'name' | 'uri' | 'taskId'> = new Map<string, 'name' | 'uri' | 'taskId'>([
  ['tools/call', 'name'],
  ['prompts/get', 'name'],
  ['resources/read', 'uri'],
  // the tasks extension: Mcp-Name carries the task id, so a load balancer can route by it
  ['tasks/get', 'taskId'],
  ['tasks/update', 'taskId'],
  ['tasks/cancel', 'taskId'],
]);

/** The routing headers of a message that carries the modern envelope; undefined for any other (a 2025 message). */
export function routingHeaders(message: JsonRpcMessage): Record<string, string> | undefined {
  if (!('method' in message)) return undefined;
  const version = asObject(message.params?._meta)?.[META.protocolVersion];
  if (typeof version !== 'string') return undefined;
  const headers: Record<string, string> = { 'mcp-protocol-version': version, 'mcp-method': message.method };
  const field = NAME_FIELD.get(message.method);
  const name = field === undefined ? undefined : message.params?.[field];
  if (typeof name === 'string') headers['mcp-name'] = encodeHeaderValue(name);
  return headers;
}
