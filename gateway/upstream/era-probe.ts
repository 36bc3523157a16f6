/**
 * Which protocol generation an upstream speaks, from its answer to a `server/discover` probe, as
 * the 2026-07-28 spec's backward-compatibility rules read: a DiscoverResult that offers a
 * revision the gateway speaks is a modern server; "method not found", an unsupported-version
 * error, any other JSON-RPC error, an HTTP 4xx or no answer within the probe timeout is a 2025
 * server, which then gets `initialize`. An answer that claims to be a DiscoverResult but is not
 * one is neither: it is refused with an error that says what was wrong, rather than guessed at.
 */
import type { UpstreamProtocol } from '../config/schema';
import { META, MODERN_VERSIONS, type Era } from '../protocol/eras';
import { FleetError } from '../protocol/errors';
import type { JsonRpcResponse } from '../protocol/jsonrpc';
import { asObject } from '../protocol/objects';

/** What a modern server said about itself. */
export interface Discovery {
  version: string;
  capabilities: Record<string, unknown>;
  serverInfo: Record<string, unknown>;
  instructions?: string;
}

export type Verdict = { era: 'modern'; discovery: Discovery } | { era: 'legacy'; why: string };

/** The probe's own outcome: the server's answer, or the gateway giving up on it (timeout, HTTP status, lost transport). */
export type ProbeOutcome = { answer: JsonRpcResponse } | { failure: FleetError };

/** The probe request's params: the modern envelope, nothing else. */
export function discoverParams(capabilities: Record<string, unknown>, clientInfo: Record<string, unknown>): Record<string, unknown> {
  return { _meta: { [META.protocolVersion]: MODERN_VERSIONS[0], [META.clientCapabilities]: capabilities, [META.clientInfo]: clientInfo } };
}

/** Classifies a probe's outcome; throws the failure itself when it says nothing about the era (a 5xx, a refused connection). */
export function classifyProbe(outcome: ProbeOutcome, server: string): Verdict {
  if ('failure' in outcome) {
    const { failure } = outcome;
    if (failure.code === 'UPSTREAM_TIMEOUT') return { era: 'legacy', why: 'server/discover was not answered in time' };
    const status = (asObject(failure.data) ?? {}).status;
    if (typeof status === 'number' && status >= 400 && status < 500) return { era: 'legacy', why: `server/discover was refused with HTTP ${status}` };
    throw failure;
  }
  const { answer } = outcome;
  if ('error' in answer) return { era: 'legacy', why: `server/discover was answered with error ${answer.error.code} (${answer.error.message})` };
  const discovery = readDiscovery(answer.result, server);
  return discovery ? { era: 'modern', discovery } : { era: 'legacy', why: 'the server offers none of the modern revisions the gateway speaks' };
}

/** A DiscoverResult, checked; undefined when it offers no revision the gateway speaks. */
function readDiscovery(result: Record<string, unknown>, server: string): Discovery | undefined {
  const { supportedVersions, capabilities, instructions } = result;
  if (!Array.isArray(supportedVersions) || !supportedVersions.every((v) => typeof v === 'string'))
    throw garbage(server, `supportedVersions must be an array of version strings (got ${excerpt(supportedVersions)})`);
  if (!asObject(capabilities)) throw garbage(server, `capabilities must be an object (got ${excerpt(capabilities)})`);
  if (instructions !== undefined && typeof instructions !== 'string') throw garbage(server, `instructions must be a string (got ${excerpt(instructions)})`);
  const version = MODERN_VERSIONS.find((v) => supportedVersions.includes(v));
  if (version === undefined) return undefined;
  const serverInfo = asObject(asObject(result._meta)?.[META.serverInfo]) ?? {};
  return { version, capabilities: capabilities as Record<string, unknown>, serverInfo, ...(instructions === undefined ? {} : { instructions }) };
}

function garbage(server: string, what: string): FleetError {
  return new FleetError(
    'UPSTREAM_UNAVAILABLE',
    `server "${server}" answered server/discover with something that is not a DiscoverResult: ${what}; set protocol: 2025-11-25 for it if it is a 2025 server`,
  );
}

function excerpt(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 80 ? `${text.slice(0, 80)}…` : text;
}

/** The era a configured `protocol` fixes, or undefined for auto. */
export function fixedEra(protocol: UpstreamProtocol): Era | undefined {
  return protocol === 'auto' ? undefined : protocol === '2026-07-28' ? 'modern' : 'legacy';
}
