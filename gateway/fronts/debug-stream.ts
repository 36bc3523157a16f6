/**
 * GET /admin/debug/stream: the gateway's live traffic as Server-Sent Events, one JSON event per
 * `data:` line (metrics/traffic-events.ts: call.start, call.end, session.open, session.close,
 * upstream.up, upstream.down), for `scripts/mcp-debug.sh` or `curl -N`. Behind the admin API's door
 * (the admin token, or a principal with `admin:read`); `bodies=1` adds arguments and results and
 * needs the full `admin` role. Filters: `server`, `tool`, `principal`, `trace`, `requestId`.
 *
 * Each subscriber is bounded: once more than `maxBufferedBytes` wait unsent for it (it does not
 * read), it is dropped (its response destroyed), never buffered without limit.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { AdminRouter } from '../admin/router';
import { FILTER_KEYS, type TrafficEvents, type TrafficFilter } from '../metrics/traffic-events';
import { FleetError } from '../protocol/errors';

export const DEBUG_STREAM_PATH = '/admin/debug/stream';
const KEEP_ALIVE_MS = 15_000;
const MAX_FILTER_CHARS = 256;

export interface DebugStreamDeps {
  admin: AdminRouter;
  events: TrafficEvents;
  /** What a subscriber that does not read may hold before it is dropped (the config's limits.sendQueueBytes). */
  maxBufferedBytes: number;
}

/** Serves one subscriber until it goes away or is dropped; a refusal is thrown before anything is written. */
export async function answerDebugStream(req: IncomingMessage, res: ServerResponse, url: URL, deps: DebugStreamDeps, log: Logger): Promise<void> {
  if (!deps.admin.enabled)
    throw new FleetError('NOT_FOUND', 'admin API disabled; add an admin section (token, or admin roles for principals) to the gateway config');
  if (req.method !== 'GET') throw new FleetError('METHOD_NOT_ALLOWED', `${DEBUG_STREAM_PATH} answers GET only`, { data: { allow: 'GET' } });
  const who = await deps.admin.permit(req, 'admin:read', `GET ${DEBUG_STREAM_PATH}`);
  const filter = parseFilter(url.searchParams);
  if (filter.bodies && !who.roles.includes('admin'))
    throw new FleetError('FORBIDDEN', `bodies=1 on ${DEBUG_STREAM_PATH} needs the role admin; ${who.id} has ${who.roles.join(', ') || 'no roles'}`);
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', 'x-accel-buffering': 'no' });
  res.write(`: subscribed ${JSON.stringify(filter)}\n\n`);
  const keepAlive = setInterval(() => res.write(': keepalive\n\n'), KEEP_ALIVE_MS);
  keepAlive.unref();
  const unsubscribe = deps.events.subscribe(filter, {
    write: (line) => {
      res.write(`data: ${line}\n\n`);
      return res.writableLength <= deps.maxBufferedBytes;
    },
    drop: () => {
      log.warn({ principal: who.id, bufferedBytes: res.writableLength }, 'debug stream subscriber does not read; dropped (limits.sendQueueBytes)');
      res.destroy();
    },
  });
  log.info({ principal: who.id, filter }, 'debug stream subscribed');
  res.once('close', () => {
    clearInterval(keepAlive);
    unsubscribe();
  });
}

/** The query's filter; INVALID_PARAMS for a parameter it does not know or a value it cannot take. */
export function parseFilter(query: URLSearchParams): TrafficFilter {
  const filter: TrafficFilter = { bodies: false };
  for (const [key, value] of query) {
    if (key === 'bodies') {
      if (value !== '1' && value !== '0' && value !== 'true' && value !== 'false')
        throw new FleetError('INVALID_PARAMS', `bodies takes 1 or 0 (got ${JSON.stringify(value.slice(0, 40))})`);
      filter.bodies = value === '1' || value === 'true';
    } else if ((FILTER_KEYS as readonly string[]).includes(key)) {
      if (value === '' || value.length > MAX_FILTER_CHARS)
        throw new FleetError('INVALID_PARAMS', `${key} takes 1 to ${MAX_FILTER_CHARS} characters (got ${value.length})`);
      filter[key as (typeof FILTER_KEYS)[number]] = value;
    } else {
      throw new FleetError(
        'INVALID_PARAMS',
        `unknown parameter ${JSON.stringify(key.slice(0, 40))} on ${DEBUG_STREAM_PATH}; it takes ${FILTER_KEYS.join(', ')} and bodies`,
      );
    }
  }
  return filter;
}
