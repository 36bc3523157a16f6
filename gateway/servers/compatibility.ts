/**
 * What a backend is, as the registry records it once it connected: its serverInfo, the protocol
 * version and era it speaks, the capabilities it declared and a hash of its tools (names and
 * schemas). And what makes a backend unfit to serve: a protocol version the gateway does not
 * speak, a serverInfo.version outside the server's `version` range, or, among the replicas of one
 * server, tools that differ from what the rest of the set offers (a flag: the replica still serves,
 * but the operator sees which one and why).
 */
import { createHash } from 'node:crypto';
import { SUPPORTED_PROTOCOL_VERSIONS } from '@modelcontextprotocol/sdk/types.js';
import { satisfies, valid } from 'semver';
import type { ServerConfig } from '../config/schema';
import { canonicalJson } from '../protocol/canonical-json';
import { MODERN_VERSIONS, type Era } from '../protocol/eras';
import type { InitializeResult } from '../upstream/connection';
import type { Catalog, Item } from './lists';

export interface BackendIdentity {
  serverInfo: { name?: string; version?: string };
  protocolVersion: string;
  era: Era;
  /** The capability names it declared (tools, resources, prompts, logging, …). */
  capabilities: string[];
  /** sha256 of its tools' names, input and output schemas, in a fixed order: equal for replicas of one build. */
  toolsHash: string;
}

const SPOKEN: readonly string[] = [...MODERN_VERSIONS, ...SUPPORTED_PROTOCOL_VERSIONS];

export function identify(init: InitializeResult, era: Era, catalog: Catalog): BackendIdentity {
  const info = init.serverInfo as { name?: unknown; version?: unknown };
  return {
    serverInfo: {
      ...(typeof info.name === 'string' ? { name: info.name } : {}),
      ...(typeof info.version === 'string' ? { version: info.version } : {}),
    },
    protocolVersion: init.protocolVersion,
    era,
    capabilities: Object.keys(init.capabilities ?? {}).sort(),
    toolsHash: toolsHash(catalog.tools),
  };
}

/** Why the backend must not serve, or undefined when it may. */
export function refusalOf(identity: BackendIdentity, config: ServerConfig): string | undefined {
  if (!SPOKEN.includes(identity.protocolVersion))
    return `it speaks protocol version ${JSON.stringify(identity.protocolVersion)}, which the gateway does not (it speaks ${SPOKEN.join(', ')})`;
  if (config.version === undefined) return undefined;
  const version = identity.serverInfo.version;
  if (version === undefined || valid(version) === null)
    return `its serverInfo.version ${version === undefined ? 'is missing' : `${JSON.stringify(version)} is not a semantic version`}, and version: ${JSON.stringify(config.version)} asks for one`;
  if (!satisfies(version, config.version, { includePrerelease: true }))
    return `its serverInfo.version ${version} is outside version: ${JSON.stringify(config.version)}`;
  return undefined;
}

/**
 * The ready replicas whose tools differ from the set's: the hash most ready replicas share is the
 * set's (a tie goes to the earliest backend), and each other hash is named.
 */
export function toolMismatches(replicas: readonly { id: string; state: string; identity?: BackendIdentity }[]): Map<string, string> {
  const backends = replicas.filter((b) => b.state === 'ready').map((b) => ({ id: b.id, toolsHash: b.identity?.toolsHash }));
  const counts = new Map<string, number>();
  for (const b of backends) if (b.toolsHash !== undefined) counts.set(b.toolsHash, (counts.get(b.toolsHash) ?? 0) + 1);
  const out = new Map<string, string>();
  if (counts.size < 2) return out;
  let set = '';
  for (const b of backends) if (b.toolsHash !== undefined && counts.get(b.toolsHash)! > (counts.get(set) ?? 0)) set = b.toolsHash;
  for (const b of backends)
    if (b.toolsHash !== undefined && b.toolsHash !== set)
      out.set(b.id, `its tools (hash ${b.toolsHash.slice(0, 12)}) differ from its replica set's (hash ${set.slice(0, 12)}): names or schemas changed`);
  return out;
}

function toolsHash(tools: readonly Item[]): string {
  const hash = createHash('sha256');
  const entries = tools.map((t) => canonicalJson([t.name ?? null, t.inputSchema ?? null, t.outputSchema ?? null])).sort();
  for (const entry of entries) hash.update(entry).update('\n');
  return hash.digest('hex');
}
