/**
 * The health probes: liveness (the process answers), startup (the first connection attempts are
 * done) and readiness (every shared server is connected; per-server states in the body, so an
 * operator sees which one is missing). Answered before the Origin check: probes send no Origin.
 */
import type { ServerResponse } from 'node:http';
import type { Fleet } from '../fleet';
import { sendJson } from '../http/http-util';
import type { ServerLink } from '../servers/group';
import type { UpstreamState } from '../upstream/supervisor';

export const HEALTH_PATHS = ['/health/liveness', '/health/readiness', '/health/startup'] as const;

export function answerHealth(path: string, fleet: Fleet, res: ServerResponse): boolean {
  switch (path) {
    case '/health/liveness':
      sendJson(res, 200, { status: 'ok' });
      return true;
    case '/health/startup':
      sendJson(res, fleet.started ? 200 : 503, { status: fleet.started ? 'started' : 'starting' });
      return true;
    case '/health/readiness': {
      const servers = Object.fromEntries(
        fleet.sharedLinks.map((l) => [l.name, { state: upstreamState(l), ...(l.lastError ? { lastError: l.lastError.message } : {}) }]),
      );
      // a ready backend has answered initialize and its catalog: a connection alone exists from the spawn on
      const ready = !fleet.draining && fleet.sharedLinks.every((l) => l.backends.some((b) => b.ready));
      sendJson(res, ready ? 200 : 503, { status: ready ? 'ready' : fleet.draining ? 'draining' : 'degraded', servers });
      return true;
    }
    default:
      return false;
  }
}

/** up when any backend is, else the state of the first (the primary unless it was removed). */
function upstreamState(link: ServerLink): UpstreamState {
  return link.backends.some((b) => b.supervisor.state === 'up') ? 'up' : link.backends[0].supervisor.state;
}
