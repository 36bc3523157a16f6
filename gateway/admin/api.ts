/**
 * The admin API's bodies as clients receive them: the pipeline's activities import these types, so
 * the API and its callers cannot drift apart.
 */
import type { KeyInfo } from '../auth/api-keys';
import type { BackendStats } from '../metrics/call-stats';
import type { BreakerReport } from '../servers/breaker';
import type { ServerStatus } from '../servers/registry';
import type { DiscoveredContainer } from '../discovery/docker-watch';
import type { Refusal } from '../metrics/recent-refusals';

/** GET /admin/servers: each server with its backends, and the names clients see for its tools. */
export interface ServerSummary extends ServerStatus {
  /** The exposed names of the server's tools (prefixed, made spec-safe, collisions resolved), as tools/list shows them. */
  tools: string[];
}

export interface ServersBody {
  servers: ServerSummary[];
}

/** GET /admin/stats: per server and backend over the last `windowSec` seconds. */
export interface StatsBody {
  windowSec: number;
  /** Per server and backend; `breaker` where the server has one, so a rollout gate sees an open circuit beside the error rate. */
  servers: Record<string, Record<string, BackendStats & { breaker?: BreakerReport }>>;
}

export interface PoolSummary {
  server: string;
  backend: string;
  warm: number;
  busy: number;
  max: number;
  waiting: number;
}

/** GET /admin/pools: the container pools of per-session docker backends. */
export interface PoolsBody {
  pools: PoolSummary[];
}

/** PUT /admin/servers/:name/weights. */
export interface WeightsBody {
  name: string;
  weights: Record<string, number>;
}

/** GET /admin/api-keys: the keys by name, never the key or its hash. */
export interface KeysBody {
  keys: KeyInfo[];
}

/** POST /admin/api-keys and .../rotate: the new key, shown this once. */
export interface NewKeyBody extends KeyInfo {
  key: string;
}

/** GET /admin/discovery: the labelled containers discovery looked at, registered or not and why. */
export interface DiscoveryBody {
  enabled: boolean;
  containers: DiscoveredContainer[];
}

/** GET /admin/refusals: the last refusals of the door and the limits, newest first (a bounded number). */
export interface RefusalsBody {
  refusals: Refusal[];
}

/** One open client session in GET /admin/sessions. */
export interface SessionEntry {
  /**
   * The short form of the session's id, as the logs write it (8 characters and `…`): of the id the
   * client holds where the front gives one (Mcp-Session-Id, legacy SSE's sessionId), else of the
   * gateway's own (WebSocket). Never the whole id: it names the session to the gateway.
   */
  id: string;
  front: 'streamable-http' | 'sse' | 'websocket' | 'stdio';
  /** Sessions are of the 2025 era (initialize); 2026-07-28 clients keep none. */
  era: 'legacy';
  /** What initialize settled; null while the handshake is still to come. */
  protocolVersion: string | null;
  /** clientInfo as the client declared it (cut at 128 characters). */
  client: { name: string | null; version: string | null };
  principal: string;
  /** ISO times. */
  openedAt: string;
  lastActivity: string;
  /** Requests of the client not answered yet. */
  inFlight: number;
  /** Resources it subscribed to through the gateway. */
  subscriptions: number;
}

/** GET /admin/sessions: the open sessions that match, most recently active first, at most `limit` of `total`. */
export interface SessionsBody {
  total: number;
  limit: number;
  sessions: SessionEntry[];
  /** Why stateless clients are not in the list. */
  stateless: string;
}

/** GET /admin/info: what this gateway is, and where the operator's other tools are. */
export interface InfoBody {
  version: string;
  /** ISO time the gateway started. */
  startedAt: string;
  /** The Temporal UI of the pipeline (admin.temporalUi), for links to its runs. */
  temporalUi?: string;
}

export type { BackendStats };
