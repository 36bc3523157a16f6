/**
 * The health probes: liveness (the process answers), startup (the first connection attempts are
 * done) and readiness (every shared server is connected; per-server states in the body, so an
 * operator sees which one is missing). Answered before the Origin check: probes send no Origin.
 */
import type { ServerResponse } from 'node:http';
import type { Fleet } from '../fleet';
import { sendJson } from './http-util';

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
        fleet.sharedLinks.map((l) => [l.name, { state: l.supervisor.state, ...(l.supervisor.lastError ? { lastError: l.supervisor.lastError.message } : {}) }]),
      );
      // `up`, not just a connection: a connection exists from the spawn on, before initialize is answered
      const ready = !fleet.draining && fleet.sharedLinks.every((l) => l.supervisor.state === 'up' && l.connection !== undefined);
      sendJson(res, ready ? 200 : 503, { status: ready ? 'ready' : fleet.draining ? 'draining' : 'degraded', servers });
      return true;
    }
    default:
      return false;
  }
}
