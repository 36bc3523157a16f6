/**
 * The routing headers of a 2026-07-28 request over Streamable HTTP: `MCP-Protocol-Version`,
 * `Mcp-Method`, and `Mcp-Name` for the methods that name a tool, a prompt or a resource, so that
 * intermediaries can route without reading the body. A value that is not plain header-safe ASCII
 * (or that looks like the sentinel itself) travels as `=?base64?…?=`, Base64 of its UTF-8. The
 * gateway's front checks them against the body; its upstream transport sets them from the body.
 */
import { META } from './eras';
import { FleetError } from './errors';
import type { JsonRpcMessage } from './jsonrpc';
import { asObject } from './objects';

/** The methods whose Mcp-Name header carries a field of the body, and which field. */
export const NAME_FIELD: ReadonlyMap<string, 'name' | 'uri'> = new Map([
  ['tools/call', 'name'],
  ['prompts/get', 'name'],
  ['resources/read', 'uri'],
]);

const SENTINEL = /^=\?base64\?(.*)\?=$/;

/**
 * A header value as the client meant it: `=?base64?…?=` carries a value that is not plain ASCII,
 * Base64 of its UTF-8; anything else is literal. A sentinel that is not valid Base64 is a mismatch.
 */
export function decodeHeaderValue(value: string): string {
  const m = SENTINEL.exec(value);
  if (!m) return value;
  const b64 = m[1];
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(b64) || b64.length % 4 !== 0)
    throw new FleetError('HEADER_MISMATCH', `Header mismatch: the header value ${JSON.stringify(value)} is not valid Base64`);
  return Buffer.from(b64, 'base64').toString('utf8');
}

/** A value as a header carries it: literal when it is safe, else the Base64 sentinel. */
export function encodeHeaderValue(value: string): string {
  const safe = /^[\x21-\x7e]([\x20-\x7e\t]*[\x21-\x7e])?$/.test(value) && !SENTINEL.test(value);
  return safe ? value : `=?base64?${Buffer.from(value, 'utf8').toString('base64')}?=`;
}

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
