/**
 * GET /admin/sessions: the client sessions open on this gateway across its fronts, filtered by
 * principal and front, most recently active first and cut at `limit` (the total says how many
 * matched). Ids are shown in their short form only: a whole Mcp-Session-Id names the session to
 * the gateway. 2026-07-28 clients keep no session, so they are never listed; the debug stream
 * shows their calls.
 */
import { shortId } from '../http/http-util';
import { FleetError } from '../protocol/errors';
import type { OpenSession } from '../session/sessions';
import type { SessionEntry, SessionsBody } from './api';

const FRONTS: readonly SessionEntry['front'][] = ['streamable-http', 'sse', 'websocket', 'stdio'];
const PARAMS = ['principal', 'front', 'limit'];
const DEFAULT_SESSION_LIMIT = 100;
const MAX_SESSION_LIMIT = 1000;
const MAX_PRINCIPAL_CHARS = 256;
const MAX_INFO_CHARS = 128;

const STATELESS_NOTE = 'clients of protocol revision 2026-07-28 keep no session and are not listed; follow their calls with GET /admin/debug/stream';

export interface SessionsQuery {
  principal?: string;
  front?: SessionEntry['front'];
  limit: number;
}

/** The query's filters and limit; INVALID_PARAMS naming the parameter that is unknown, repeated or out of range. */
export function parseSessionsQuery(query: URLSearchParams): SessionsQuery {
  const out: SessionsQuery = { limit: DEFAULT_SESSION_LIMIT };
  const seen = new Set<string>();
  for (const [key, value] of query) {
    const name = JSON.stringify(key.slice(0, 40));
    if (!PARAMS.includes(key)) throw new FleetError('INVALID_PARAMS', `unknown parameter ${name} on /admin/sessions; it takes ${PARAMS.join(', ')}`);
    if (seen.has(key)) throw new FleetError('INVALID_PARAMS', `${key} is given more than once; give it once`);
    seen.add(key);
    const got = JSON.stringify(value.slice(0, 40));
    if (key === 'principal') {
      if (value === '' || value.length > MAX_PRINCIPAL_CHARS)
        throw new FleetError('INVALID_PARAMS', `principal takes a principal id of 1 to ${MAX_PRINCIPAL_CHARS} characters (got ${value.length})`);
      out.principal = value;
    } else if (key === 'front') {
      if (!(FRONTS as readonly string[]).includes(value)) throw new FleetError('INVALID_PARAMS', `front takes one of ${FRONTS.join(', ')} (got ${got})`);
      out.front = value as SessionEntry['front'];
    } else {
      const limit = /^\d{1,4}$/.test(value) ? Number(value) : NaN;
      if (!(limit >= 1 && limit <= MAX_SESSION_LIMIT))
        throw new FleetError('INVALID_PARAMS', `limit takes a whole number from 1 to ${MAX_SESSION_LIMIT} (got ${got}); default ${DEFAULT_SESSION_LIMIT}`);
      out.limit = limit;
    }
  }
  return out;
}

export function listSessions(open: OpenSession[], query: SessionsQuery): SessionsBody {
  const matching = open.filter(
    ({ session }) =>
      (query.principal === undefined || session.principal.id === query.principal) && (query.front === undefined || session.channel.kind === query.front),
  );
  matching.sort((a, b) => b.session.lastActivity - a.session.lastActivity);
  return { total: matching.length, limit: query.limit, sessions: matching.slice(0, query.limit).map(entry), stateless: STATELESS_NOTE };
}

function entry({ session, subscriptions }: OpenSession): SessionEntry {
  return {
    id: shortId(session.channel.sessionId ?? session.id),
    front: session.channel.kind,
    era: session.era,
    protocolVersion: session.protocolVersion || null,
    client: { name: info(session.clientInfo.name), version: info(session.clientInfo.version) },
    principal: session.principal.id,
    openedAt: new Date(session.openedAt).toISOString(),
    lastActivity: new Date(session.lastActivity).toISOString(),
    inFlight: session.inFlightCount,
    subscriptions,
  };
}

function info(value: unknown): string | null {
  return typeof value === 'string' ? value.slice(0, MAX_INFO_CHARS) : null;
}
