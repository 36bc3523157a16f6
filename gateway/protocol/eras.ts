/**
 * The two protocol generations the gateway speaks. Legacy (2025-11-25 and before) opens a session
 * with `initialize`; modern (2026-07-28) carries its version, client capabilities and identity in
 * every request's `_meta`, under the keys below, and keeps no session.
 */
export type Era = 'legacy' | 'modern';

/** The modern revisions the gateway speaks, newest first. */
export const MODERN_VERSIONS = ['2026-07-28'] as const;
export const MODERN_VERSION = MODERN_VERSIONS[0];

export const META = {
  protocolVersion: 'io.modelcontextprotocol/protocolVersion',
  clientCapabilities: 'io.modelcontextprotocol/clientCapabilities',
  clientInfo: 'io.modelcontextprotocol/clientInfo',
  logLevel: 'io.modelcontextprotocol/logLevel',
  serverInfo: 'io.modelcontextprotocol/serverInfo',
  subscriptionId: 'io.modelcontextprotocol/subscriptionId',
} as const;

/** The envelope's keys: they describe the hop a request came over, so a relay never forwards them as they are. */
const ENVELOPE_KEYS: readonly string[] = [META.protocolVersion, META.clientCapabilities, META.clientInfo, META.logLevel];

/** Whether a protocol version string names a modern revision (they compare as dates). */
export function isModernVersion(version: unknown): boolean {
  return typeof version === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(version) && version >= MODERN_VERSION;
}

/** The modern envelope a request claims in its `_meta`, if it carries the protocol-version key at all. */
export function envelopeClaim(params: Record<string, unknown> | undefined): Record<string, unknown> | undefined {
  const meta = params?._meta;
  if (typeof meta !== 'object' || meta === null || Array.isArray(meta)) return undefined;
  return Object.hasOwn(meta, META.protocolVersion) ? (meta as Record<string, unknown>) : undefined;
}

/** `_meta` without the envelope (what a relay forwards onward); the same object when it has none. */
export function withoutEnvelope(meta: Record<string, unknown> | undefined): Record<string, unknown> | undefined {
  if (!meta || !ENVELOPE_KEYS.some((key) => Object.hasOwn(meta, key))) return meta;
  // a fresh object, not a copy with keys deleted: deleting turns an object slow for every later read
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(meta)) if (!ENVELOPE_KEYS.includes(key)) out[key] = value;
  return out;
}
