/**
 * The health probes: liveness (the process answers), startup (the first connection attempts are
 * done) and readiness (every shared server has a backend that answered initialize and its catalog;
 * per-server states in the body, so an operator sees which one is missing). Answered before the
 * Origin check: probes send no Origin.
 */
import type { ServerResponse } from 'node:http';
import { sendJson } from '../http/http-util';
import type { ServerGroup } from '../servers/group';

export const HEALTH_PATHS = ['/health/liveness', '/health/readiness', '/health/startup'] as const;

/** What the probes read. */
export interface HealthSource {
  /** Every shared server had its first connection attempt (or the startup wait ran out). */
  readonly started: boolean;
  readonly draining: boolean;
  sharedGroups(): ServerGroup[];
}

export function answerHealth(path: string, source: HealthSource, res: ServerResponse): boolean {
  switch (path) {
    case '/health/liveness':
      sendJson(res, 200, { status: 'ok' });
      return true;
    case '/health/startup':
      sendJson(res, source.started ? 200 : 503, { status: source.started ? 'started' : 'starting' });
      return true;
    case '/health/readiness': {
      const groups = source.sharedGroups();
      const servers = Object.fromEntries(
        groups.map((g) => [g.name, { state: connectionState(g), ...(g.lastError ? { lastError: g.lastError.message } : {}) }]),
      );
      const ready = !source.draining && groups.every((g) => g.backends.some((b) => b.ready));
      sendJson(res, ready ? 200 : 503, { status: ready ? 'ready' : source.draining ? 'draining' : 'degraded', servers });
      return true;
    }
    default:
      return false;
  }
}

/** The most advanced connection state among a server's backends: up, connecting, backoff, stopped. */
function connectionState(group: ServerGroup): string {
  for (const state of ['up', 'connecting', 'backoff'] as const) if (group.backends.some((b) => b.supervisorState === state)) return state;
  return 'stopped';
}
