/**
 * debugging-tools: the operator's live debugging tools on the running gateway, each exercised with
 * traffic the step makes itself, so that a check has something of its own to find or fails: the
 * admin debug stream shows the step's tool call (by its X-Request-Id and trace id); the sessions
 * route lists the step's session (by the short form of its Mcp-Session-Id) and no longer once it
 * closed; the registry, upstreams and health routes answer for every configured server.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { SessionEntry } from '../gateway/admin/api';
import { shortId } from '../gateway/http/http-util';
import { REQUEST_ID_HEADER } from '../gateway/protocol/request-id';
import type { StepInput, StepResult } from '../pipeline/types';
import { AdminApi } from './admin';
import { connect, expectedServers, needsNoArguments } from './gateway';
import { cancellation, pause, withHeartbeat } from './runtime';

/** How long an event or a change of the session list may take to show after what causes it. */
const SHOW_WITHIN_MS = 10_000;

type TrafficEvent = Record<string, unknown>;

/**
 * Follows GET /admin/debug/stream filtered by a fresh request id, then calls params.tool (default:
 * the first tool without required arguments) with that X-Request-Id and a fresh traceparent.
 * Passed when the stream showed the call's call.start and call.end, both with the step's trace id.
 */
export async function debugStreamCall(input: StepInput): Promise<StepResult> {
  const api = await AdminApi.of(input);
  const requestId = `mcp-fleet-debug-${randomUUID()}`;
  const traceId = randomBytes(16).toString('hex');
  const stop = new AbortController();
  const seen: TrafficEvent[] = [];
  const events = await api.debugStream({ requestId }, stop.signal);
  // subscribed: every event of the call below reaches this reader
  const ended = (async () => {
    for await (const e of events) {
      seen.push(e);
      if (e.type === 'call.end' && e.method === 'tools/call') return;
    }
  })();
  let tool: string;
  try {
    const called = await withHeartbeat('calling a tool with the debug stream open', () => callOnce(api.base, requestId, traceId, input.params.tool));
    if ('failed' in called) return { outcome: 'failed', summary: called.failed, details: { requestId, traceId } };
    tool = called.tool;
    const deadline = setTimeout(() => stop.abort(), SHOW_WITHIN_MS);
    await ended.finally(() => clearTimeout(deadline));
  } finally {
    stop.abort();
    await ended.catch(() => undefined);
  }
  const calls = seen.filter((e) => e.method === 'tools/call');
  const start = calls.find((e) => e.type === 'call.start');
  const end = calls.find((e) => e.type === 'call.end');
  const details = { requestId, traceId, tool, events: seen.map((e) => `${String(e.type)} ${String(e.method)}`) };
  const what = `the step's call of ${tool} (X-Request-Id ${requestId}, trace ${traceId})`;
  if (!start || !end)
    return {
      outcome: 'failed',
      summary: `GET /admin/debug/stream at ${api.base} showed ${start ? 'its call.start but no call.end' : 'no call.start'} of ${what} within ${SHOW_WITHIN_MS / 1000} s`,
      details,
    };
  const wrong = calls.filter((e) => e.trace !== traceId || e.requestId !== requestId);
  if (wrong.length)
    return { outcome: 'failed', summary: `GET /admin/debug/stream showed ${what} under another trace or request id: ${JSON.stringify(wrong[0])}`, details };
  return {
    outcome: 'passed',
    summary: `GET /admin/debug/stream showed ${what}: call.start and call.end of ${String(end.server)}/${String(end.backend)}, ${String(end.outcome)} in ${String(end.ms)} ms`,
    details: { ...details, server: end.server, backend: end.backend, outcome: end.outcome, ms: end.ms },
  };
}

async function callOnce(base: string, requestId: string, traceId: string, wanted: unknown): Promise<{ tool: string } | { failed: string }> {
  const session = await connect(base, 'streamable-http', 'mcp-fleet-debug-stream', { [REQUEST_ID_HEADER]: requestId });
  try {
    const { tools } = await session.client.listTools();
    const tool = typeof wanted === 'string' ? wanted : tools.find(needsNoArguments)?.name;
    if (!tool) return { failed: `the gateway at ${base} offers no tool without required arguments to call; pass params.tool` };
    await session.client.callTool({ name: tool, arguments: {}, _meta: { traceparent: `00-${traceId}-${randomBytes(8).toString('hex')}-01` } });
    return { tool };
  } catch (err) {
    return { failed: `the step's tool call through ${base}/mcp failed (${(err as Error).message}), so the debug stream had nothing of its own to show` };
  } finally {
    await session.close();
  }
}

/**
 * Opens a Streamable HTTP session of its own and finds it in GET /admin/sessions (by the short
 * form of its Mcp-Session-Id and its client name), also under its principal's filter; the whole
 * Mcp-Session-Id must appear nowhere in the answer. Closed, the session must leave the list.
 */
export async function sessionsListed(input: StepInput): Promise<StepResult> {
  const api = await AdminApi.of(input);
  const name = `mcp-fleet-sessions-${randomBytes(4).toString('hex')}`;
  const session = await withHeartbeat('opening a session', () => connect(api.base, 'streamable-http', name));
  let listed: SessionEntry;
  let id: string;
  try {
    const sessionId = (session.client.transport as StreamableHTTPClientTransport | undefined)?.sessionId;
    if (!sessionId)
      return { outcome: 'failed', summary: `the gateway at ${api.base} gave the step's Streamable HTTP session no Mcp-Session-Id`, details: { name } };
    id = shortId(sessionId);
    const found = await findSession(api, id, name, sessionId);
    if ('failed' in found) return { outcome: 'failed', summary: found.failed, details: { name, id } };
    listed = found.entry;
  } finally {
    await session.close();
  }
  const gone = await leftWithin(api, id, name, listed.principal);
  const details = { name, ...listed };
  if (!gone)
    return {
      outcome: 'failed',
      summary: `GET /admin/sessions still lists the step's session ${id} (${name}) ${SHOW_WITHIN_MS / 1000} s after it closed`,
      details,
    };
  return {
    outcome: 'passed',
    summary: `GET /admin/sessions listed the step's own session ${id} (${name}, ${listed.principal}, ${listed.front} ${listed.protocolVersion ?? '?'}), also under its principal's filter, and not once it closed`,
    details,
  };
}

async function findSession(api: AdminApi, id: string, name: string, sessionId: string): Promise<{ entry: SessionEntry } | { failed: string }> {
  const all = await api.sessions({ front: 'streamable-http' });
  if (JSON.stringify(all).includes(sessionId))
    return { failed: `GET /admin/sessions shows the whole Mcp-Session-Id of the step's session; it must show only ${id}` };
  const entry = all.sessions.find((s) => s.id === id && s.client.name === name);
  if (!entry)
    return { failed: `GET /admin/sessions at ${api.base} does not list the step's own session ${id} (${name}) among ${all.total} Streamable HTTP sessions` };
  const mine = await api.sessions({ front: 'streamable-http', principal: entry.principal });
  if (!mine.sessions.some((s) => s.id === id))
    return {
      failed: `GET /admin/sessions?principal=${entry.principal} does not list the step's session ${id}, which the unfiltered list gives to that principal`,
    };
  return { entry };
}

async function leftWithin(api: AdminApi, id: string, name: string, principal: string): Promise<boolean> {
  for (const until = Date.now() + SHOW_WITHIN_MS; ;) {
    const { sessions } = await api.sessions({ front: 'streamable-http', principal });
    if (!sessions.some((s) => s.id === id && s.client.name === name)) return true;
    if (Date.now() > until) return false;
    await pause(200, `waiting for the closed session ${id} to leave the list`);
  }
}

interface Readiness {
  status?: string;
  servers?: Record<string, { state?: string; backends?: Record<string, { state?: string }> }>;
}

/**
 * GET /admin/servers (the registry, and the upstreams: each backend's state and connections) and
 * GET /health/readiness must answer for every configured server (params.servers, else those of
 * params.config): passed when none is missing from any of them; each server's state is reported.
 */
export async function adminInventory(input: StepInput): Promise<StepResult> {
  const api = await AdminApi.of(input);
  const expected = expectedServers(input);
  if (expected.length === 0) return { outcome: 'failed', summary: 'nothing to check: the config names no servers; pass params.servers or params.config' };
  const { servers } = await api.servers();
  const readiness = await readinessOf(api.base);
  const byName = new Map(servers.map((s) => [s.name, s]));
  const problems: string[] = [];
  const missing = (route: string, names: string[]) => names.length && problems.push(`${route} has no ${names.join(', ')}`);
  missing(
    'GET /admin/servers',
    expected.filter((n) => !byName.has(n)),
  );
  const unconnected = expected.filter((n) => !byName.get(n)?.backends.length);
  if (unconnected.length) problems.push(`no upstream (backend) answers for ${unconnected.join(', ')}`);
  // readiness reports the servers every client shares; a per-session or per-principal one has no connection before a client
  const shared = expected.filter((n) => (byName.get(n)?.mode ?? 'shared') === 'shared');
  if ('failed' in readiness) problems.push(readiness.failed);
  else
    missing(
      `GET /health/readiness (${readiness.status})`,
      shared.filter((n) => readiness.servers?.[n] === undefined),
    );
  const states = expected
    .filter((n) => byName.has(n))
    .map(
      (n) =>
        `${n} ${byName.get(n)!.state} (${byName
          .get(n)!
          .backends.map((b) => `${b.id} ${b.state}`)
          .join(', ')})`,
    );
  const details = { url: api.base, expected, servers: servers.map((s) => s.name), readiness: 'failed' in readiness ? readiness.failed : readiness.status };
  if (problems.length) return { outcome: 'failed', summary: `${problems.join('; ')} (configured: ${expected.join(', ')})`, details };
  return { outcome: 'passed', summary: `registry, upstreams and health answer for all ${expected.length} configured servers: ${states.join('; ')}`, details };
}

/** GET /health/readiness: 200 when ready, 503 when not; both are answers with each server's state. */
async function readinessOf(base: string): Promise<Readiness | { failed: string }> {
  try {
    const res = await fetch(`${base}/health/readiness`, {
      signal: AbortSignal.any([AbortSignal.timeout(10_000), ...(cancellation() ? [cancellation()!] : [])]),
    });
    const text = await res.text();
    if (res.status !== 200 && res.status !== 503) return { failed: `GET /health/readiness answered ${res.status}: ${text.slice(0, 200)}` };
    return JSON.parse(text) as Readiness;
  } catch (err) {
    return { failed: `GET /health/readiness at ${base} gave no JSON answer (${(err as Error).message})` };
  }
}
