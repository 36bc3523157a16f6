/**
 * Raw 2026-07-28 requests, for tests that must see the exact bytes the gateway answers (the SDK v2
 * client hides wire fields and validates what it sends). Each request carries the envelope in
 * `_meta`; the headers the spec requires are set from the body unless a test overrides them (a
 * value of `null` leaves a header out).
 */
import { META, MODERN_VERSION } from '../../gateway/protocol/eras';
import { openEventStream, postRaw, type RawReply } from './raw-http';

export function envelope(capabilities: Record<string, unknown> = {}, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { [META.protocolVersion]: MODERN_VERSION, [META.clientCapabilities]: capabilities, [META.clientInfo]: { name: 'raw-modern', version: '1' }, ...extra };
}

export function modernRequest(id: number | string, method: string, params: Record<string, unknown> = {}, meta: Record<string, unknown> = envelope()) {
  return { jsonrpc: '2.0', id, method, params: { ...params, _meta: { ...meta, ...(params._meta as object | undefined) } } };
}

const NAME_FIELD: Record<string, string> = {
  'tools/call': 'name',
  'prompts/get': 'name',
  'resources/read': 'uri',
  'tasks/get': 'taskId',
  'tasks/update': 'taskId',
  'tasks/cancel': 'taskId',
};

export function postModern(url: string, message: ReturnType<typeof modernRequest>, headers: Record<string, string | null> = {}): Promise<RawReply> {
  return postRaw(url, JSON.stringify(message), modernHeaders(message, headers));
}

/** A modern request whose answer is read as a stream while it comes (a listen stream, say); `close()` ends it. */
export function openModern(url: string, message: ReturnType<typeof modernRequest>) {
  return openEventStream(url, modernHeaders(message, {}), JSON.stringify(message));
}

function modernHeaders(message: ReturnType<typeof modernRequest>, headers: Record<string, string | null>): Record<string, string> {
  const field = NAME_FIELD[message.method];
  const name = field === undefined ? undefined : (message.params as Record<string, unknown>)[field];
  const defaults: Record<string, string | null> = {
    'mcp-protocol-version': String((message.params._meta as Record<string, unknown>)[META.protocolVersion] ?? MODERN_VERSION),
    'mcp-method': message.method,
    ...(typeof name === 'string' ? { 'mcp-name': name } : {}),
  };
  const merged = { ...defaults, ...headers };
  return Object.fromEntries(Object.entries(merged).filter((e): e is [string, string] => e[1] !== null));
}
