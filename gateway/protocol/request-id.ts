/**
 * The request id that ties one client request to every log line, upstream request and answer it
 * causes, beside the W3C trace id: the client's `X-Request-Id` when it sent a usable one, else one
 * the gateway makes. A client's value goes into log lines, response headers and upstream requests,
 * so it is taken only when it is short and of a charset that cannot break any of them (no CR/LF,
 * no quotes, nothing outside ASCII); anything else is replaced, never echoed.
 */
import { randomUUID } from 'node:crypto';

export const REQUEST_ID_HEADER = 'x-request-id';
/** Where an upstream request carries it in `_meta` (the key is the gateway's: MCP names none). */
export const REQUEST_ID_META = 'mcp-fleet/request-id';
export const MAX_REQUEST_ID_LENGTH = 128;

/** Letters, digits and `-_.:/+=@`: UUIDs, hex, base64 and the ids proxies (nginx, Envoy, ALB) make all fit. */
const SAFE = /^[A-Za-z0-9\-_.:/+=@]+$/;

export interface AcceptedRequestId {
  id: string;
  /** Why the client's value was not taken (it sent one); the value itself is never kept. */
  replaced?: string;
}

/** The client's X-Request-Id if it is usable, else a fresh one (and why the client's was not taken). */
export function acceptRequestId(header: string | string[] | undefined): AcceptedRequestId {
  if (header === undefined) return { id: randomUUID() };
  const replaced = problemWith(header);
  return replaced ? { id: randomUUID(), replaced } : { id: header as string };
}

function problemWith(header: string | string[]): string | undefined {
  if (Array.isArray(header)) return `sent ${header.length} times`;
  if (header.length === 0) return 'empty';
  if (header.length > MAX_REQUEST_ID_LENGTH) return `longer than ${MAX_REQUEST_ID_LENGTH} characters (${header.length})`;
  if (!SAFE.test(header)) return 'has characters outside A-Z a-z 0-9 - _ . : / + = @';
  return undefined;
}

/** The request id a JSON-RPC message carries in `params._meta`, if it is one the gateway would send. */
export function requestIdIn(meta: Record<string, unknown> | undefined): string | undefined {
  const id = meta?.[REQUEST_ID_META];
  return typeof id === 'string' && problemWith(id) === undefined ? id : undefined;
}
