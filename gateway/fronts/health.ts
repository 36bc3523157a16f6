/**
 * The health probes: liveness (the process answers), startup (the first connection attempts are
 * done) and readiness (every required shared server has a backend that answered initialize and
 * its catalog, that its health checks have not found down, and whose circuit breaker is not
 * holding requests back; servers with `required: false` are reported and not waited for). The
 * body has each server's and each backend's state and health, and why a backend was refused or is
 * flagged (compatibility.ts), so an operator sees which one is missing and why. Answered before the Origin check: probes
 * send no Origin.
 */
import type { ServerResponse } from 'node:http';
import { sendJson } from '../http/http-util';
import { toolMismatches } from '../servers/compatibility';
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
      const servers = Object.fromEntries(groups.map((g) => [g.name, serverReport(g)]));
      const ready = !source.draining && groups.every((g) => !g.config.required || g.admitting);
      sendJson(res, ready ? 200 : 503, { status: ready ? 'ready' : source.draining ? 'draining' : 'degraded', servers });
      return true;
    }
    default:
      return false;
  }
}

function serverReport(group: ServerGroup) {
  const mismatches = toolMismatches(group.backends);
  return {
    state: connectionState(group),
    required: group.config.required,
    ...(group.lastError ? { lastError: group.lastError.message } : {}),
    ...(group.serving && !group.admitting ? { reason: 'every serving backend has an open circuit breaker' } : {}),
    backends: Object.fromEntries(
      group.backends.map((b) => [
        b.id,
        {
          state: b.state,
          health: b.health,
          ...(b.refusal !== undefined ? { refused: b.refusal } : {}),
          ...(mismatches.has(b.id) ? { mismatch: mismatches.get(b.id) } : {}),
          ...(b.breaker ? { breaker: b.breaker.report } : {}),
        },
      ]),
    ),
  };
}

/** The most advanced connection state among a server's backends: up, connecting, backoff, stopped. */
function connectionState(group: ServerGroup): string {
  for (const state of ['up', 'connecting', 'backoff'] as const) if (group.backends.some((b) => b.supervisorState === state)) return state;
  return 'stopped';
}
