/**
 * Backends that no config file entry makes: added at run time through the admin API, or a
 * discovered container that joined a server of another origin. Each is its own transport fields
 * (how to reach it) with every other setting taken from its server, so that it can be remade when
 * a config reload changes the server: it keeps its id and weight and takes the new settings, or
 * the reload is refused naming what no longer fits (ServerPlan.changedTo). Its origin is kept with
 * it, for the admin API and for what a refused reload tells the operator to do.
 */
import { parseServer } from '../config/load';
import type { ServerConfig } from '../config/schema';
import { FleetError } from '../protocol/errors';
import type { BackendOrigin, BackendSpec } from './plan';

/** The fields a backend brings; everything else (prefix, timeouts, restart, health check, breaker, retry) comes from its server. */
export const TRANSPORT_FIELDS = ['command', 'args', 'env', 'cwd', 'url', 'transport', 'headers', 'tls', 'docker', 'pool'];

export interface RuntimeBackend {
  id: string;
  weight: number;
  /** Its own fields, of TRANSPORT_FIELDS only (the caller checked). */
  transport: Record<string, unknown>;
  origin: BackendOrigin;
}

/** The spec of a backend added at run time to `server`; INVALID_PARAMS naming the fields that do not fit it. */
export function runtimeBackend(backend: RuntimeBackend, server: ServerConfig): BackendSpec {
  const rebase = (of: ServerConfig) => backendConfig(of, backend.transport);
  return { id: backend.id, weight: backend.weight, config: rebase(server), runtime: { origin: backend.origin, rebase } };
}

/** A backend's config: its own transport fields, the rest inherited from its server; INVALID_PARAMS naming what does not fit. */
function backendConfig(server: ServerConfig, transport: Record<string, unknown>): ServerConfig {
  const inherited = {
    prefix: server.prefix,
    mode: server.mode,
    requestTimeoutMs: server.requestTimeoutMs,
    restart: server.restart,
    healthCheck: server.healthCheck,
    protocol: server.protocol,
    timeouts: server.timeouts,
    ...(server.breaker ? { breaker: server.breaker } : {}),
    ...(server.retry ? { retry: server.retry } : {}),
    ...(server.kind === 'docker' && 'docker' in transport ? { pool: server.pool } : {}),
    // another replica of a remote server takes the server's credentials, TLS and session pool, unless the backend brings its own
    ...(server.kind === 'remote' && 'url' in transport
      ? { headers: server.headers, ...(server.tls ? { tls: server.tls } : {}), ...(server.pool ? { pool: server.pool } : {}) }
      : {}),
  };
  const problems: string[] = [];
  const config = parseServer(server.name, { ...inherited, ...transport }, [], problems);
  if (problems.length > 0 || !config) throw new FleetError('INVALID_PARAMS', problems.join('; '));
  return config;
}
