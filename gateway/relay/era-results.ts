/**
 * Answers as each era expects them, whatever era the server that produced them speaks. A modern
 * client gets `resultType` on every result, caching hints on lists and reads, the gateway's
 * identity in `_meta`, and the 2026 code for an unknown resource; a legacy client gets none of the
 * fields its revision does not know (a 2026 server's answers lose them on the way).
 */
import { META } from '../protocol/eras';
import { RESOURCE_NOT_FOUND, SdkCode } from '../protocol/errors';
import type { JsonRpcErrorObject, JsonRpcResponse } from '../protocol/jsonrpc';
import { asObject } from '../protocol/objects';
import { CACHEABLE_METHODS } from './routes';

export interface ModernAnswerSettings {
  serverInfo: { name: string; version: string };
  cache: { ttlMs: number; scope: 'private' | 'public' };
}

export function forModernClient(method: string, response: JsonRpcResponse, settings: ModernAnswerSettings): JsonRpcResponse {
  if ('error' in response) return response.error.code === RESOURCE_NOT_FOUND ? { ...response, error: forModernError(response.error) } : response;
  const result: Record<string, unknown> = { ...response.result };
  result.resultType ??= 'complete';
  if (result.resultType === 'complete' && CACHEABLE_METHODS.has(method)) {
    result.ttlMs ??= settings.cache.ttlMs;
    result.cacheScope ??= settings.cache.scope;
  }
  const meta = typeof result._meta === 'object' && result._meta !== null ? (result._meta as Record<string, unknown>) : {};
  result._meta = { ...meta, [META.serverInfo]: settings.serverInfo };
  return { ...response, result };
}

/**
 * The gateway's own refusal as a modern client's error: an unknown resource is invalid params
 * there, with the URI (2025's -32002 became -32602 in 2026-07-28).
 */
export function forModernError(error: JsonRpcErrorObject): JsonRpcErrorObject {
  return error.code === RESOURCE_NOT_FOUND ? { ...error, code: SdkCode.InvalidParams } : error;
}

/**
 * The reserved `_meta` keys 2026-07-28 defines and 2025-11-25 does not (2025's own, such as
 * io.modelcontextprotocol/related-task, stay): a server's identity, a subscription's id, the envelope.
 */
const MODERN_ONLY_META: ReadonlySet<string> = new Set([
  META.serverInfo,
  META.subscriptionId,
  META.protocolVersion,
  META.clientCapabilities,
  META.clientInfo,
  META.logLevel,
]);

/** `_meta` without the 2026-only keys; the same object when it has none. */
function withoutModernMeta(meta: Record<string, unknown> | undefined): Record<string, unknown> | undefined {
  if (!meta || !Object.keys(meta).some((key) => MODERN_ONLY_META.has(key))) return meta;
  // a fresh object, not a copy with keys deleted (as eras.ts withoutEnvelope does)
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(meta)) if (!MODERN_ONLY_META.has(key)) out[key] = value;
  return out;
}

/** What a 2026-07-28 server put in a result that a 2025 client's revision does not define: resultType, caching hints, the 2026-only `_meta` keys. */
export function forLegacyClient(response: JsonRpcResponse): JsonRpcResponse {
  if ('error' in response) return response;
  const { resultType, ttlMs, cacheScope, ...rest } = response.result;
  const meta = asObject(rest._meta);
  const kept = withoutModernMeta(meta);
  if (resultType === undefined && ttlMs === undefined && cacheScope === undefined && kept === meta) return response;
  if (kept && Object.keys(kept).length > 0) rest._meta = kept;
  else delete rest._meta;
  return { ...response, result: rest };
}
