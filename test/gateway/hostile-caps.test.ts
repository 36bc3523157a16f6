/**
 * The caps that need no principal (issue 10, "Hostile input"): sessions in total, sessions on a
 * per-session server (each starts a process), connections per front and requests in flight per
 * session. Each refusal is a clear status or JSON-RPC error naming the setting, and a slot given
 * back (a session closed, a call answered) can be taken again.
 */
import WebSocket from 'ws';
import { newMarker, startTestGateway, type TestGateway } from '../helpers/gateway';
import { postRaw, rawSession } from '../helpers/raw-http';
import { scripted, sleepsStarted } from '../helpers/scripted';
import { processesWithMarker, waitForNoProcesses } from '../helpers/processes';
import { waitFor } from '../helpers/wait';

const initialize = JSON.stringify({
  jsonrpc: '2.0',
  id: 0,
  method: 'initialize',
  params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
});

/**
 * Opens a raw WebSocket; resolves with how the gateway answered: open (its session answered a
 * ping, which the lifecycle allows before initialize), an HTTP status, or a close code with its reason.
 */
function openWebSocket(gw: TestGateway): Promise<{ ws: WebSocket; outcome: string }> {
  const ws = new WebSocket(`${gw.url.replace('http', 'ws')}/ws`, 'mcp');
  return new Promise((resolve) => {
    ws.once('unexpected-response', (_req, res) => resolve({ ws, outcome: `HTTP ${res.statusCode}` }));
    ws.once('open', () => {
      // a refused session is closed without an answer; an accepted one answers
      ws.on('message', (data: Buffer) => {
        if ((JSON.parse(data.toString()) as { id?: unknown }).id === 'alive') resolve({ ws, outcome: 'open' });
      });
      ws.once('close', (code, reason) => resolve({ ws, outcome: `close ${code} ${reason.toString()}` }));
      ws.send(JSON.stringify({ jsonrpc: '2.0', id: 'alive', method: 'ping' }), () => {});
    });
    ws.on('error', () => {});
  });
}

describe('caps', () => {
  const marker = newMarker();
  let gw: TestGateway;

  beforeAll(async () => {
    gw = await startTestGateway(
      {
        limits: { maxSessions: 3, maxConnectionsPerFront: 3, maxPendingPerSession: 2 },
        servers: {
          s: scripted(marker, ['--tools', 'echo,sleep']),
          own: scripted(marker, ['--tools', 'echo', '--name', 'own'], { mode: 'per-session', limits: { maxSessions: 2 } }),
        },
      },
      marker,
    );
  });

  afterAll(async () => {
    await gw?.stop();
    expect(await waitForNoProcesses(marker)).toEqual([]);
  });

  it('refuses a session on a per-session server past its maxSessions, starting no process for it', async () => {
    const processes = () => processesWithMarker(marker).length;
    const a = await rawSession(`${gw.url}/mcp`);
    const b = await rawSession(`${gw.url}/mcp`);
    expect(processes()).toBe(3); // the shared server and one per session
    const refused = await postRaw(`${gw.url}/mcp`, initialize);
    expect(refused.messages[0].error).toMatchObject({
      code: -32600,
      message: 'too many sessions on per-session server "own" (each runs its own upstream): the limit is 2 (servers.own.limits.maxSessions); try again later',
      data: { fleetCode: 'LIMIT_REACHED' },
    });
    expect(refused.headers.get('mcp-session-id')).toBeNull();
    expect(processes()).toBe(3);
    await a.close();
    const c = await rawSession(`${gw.url}/mcp`);
    expect((await c.call('tools/call', { name: 'own__echo', arguments: {} })).result.content[0].text).toBe('own:echo');
    await Promise.all([b.close(), c.close()]);
    await waitFor(() => gw.sessions.count === 0, 'the sessions to close');
  });

  it('refuses requests past maxPendingPerSession with -32600 naming the setting, and takes one once a call is answered', async () => {
    const session = await rawSession(`${gw.url}/mcp`);
    const started = sleepsStarted(gw.logs, 's');
    const slow = [101, 102].map((id) =>
      postRaw(
        `${gw.url}/mcp`,
        JSON.stringify({ jsonrpc: '2.0', id, method: 'tools/call', params: { name: 's__sleep', arguments: { ms: 1500 } } }),
        session.headers,
      ),
    );
    await waitFor(() => sleepsStarted(gw.logs, 's') === started + 2, 'both calls to run upstream');
    const third = await session.call('tools/call', { name: 's__echo', arguments: {} });
    expect(third.error).toMatchObject({ code: -32600, message: expect.stringContaining('limit is 2 (limits.maxPendingPerSession)') });
    await Promise.all(slow);
    expect((await session.call('tools/call', { name: 's__echo', arguments: {} })).result).toBeDefined();
    await session.close();
  });

  it('refuses sessions past maxSessions with 429 on HTTP and close 1013 on a WebSocket', async () => {
    const open = await Promise.all([1, 2, 3].map(() => rawSession(`${gw.url}/mcp`).catch((e: Error) => e)));
    // the per-session server's cap (2) refuses the third first: it is the tighter one
    expect(open.filter((s) => s instanceof Error)).toHaveLength(1);
    const [a, b] = open.filter((s): s is Awaited<ReturnType<typeof rawSession>> => !(s instanceof Error));
    // one more (a WebSocket, whose initialize would meet the per-session cap) fills the gateway's own cap
    const third = await openWebSocket(gw);
    expect(third.outcome).toBe('open');
    const refused = await postRaw(`${gw.url}/mcp`, initialize);
    expect(refused.status).toBe(429);
    expect(refused.messages[0].error.message).toBe('too many client sessions open at once: the limit is 3 (limits.maxSessions); try again later');
    const ws = await openWebSocket(gw);
    expect(ws.outcome).toMatch(/^close 1013 too many client sessions open at once/);
    third.ws.close();
    await Promise.all([a.close(), b.close()]);
    await waitFor(() => gw.sessions.count === 0, 'the sessions to close');
  });

  it('refuses connections past maxConnectionsPerFront with 429, per front', async () => {
    const open = await Promise.all([1, 2, 3].map(() => openWebSocket(gw)));
    expect(open.map((o) => o.outcome)).toEqual(['open', 'open', 'open']);
    const refused = await openWebSocket(gw);
    expect(refused.outcome).toBe('HTTP 429');
    // another front counts on its own: /mcp still answers (here: that the session does not exist)
    expect((await postRaw(`${gw.url}/mcp`, '{"jsonrpc":"2.0","id":1,"method":"ping"}', { 'mcp-session-id': 'none' })).status).toBe(404);
    const closed = new Promise((r) => open[0].ws.once('close', r));
    open[0].ws.close();
    await closed;
    const again = await waitFor(
      async () => {
        const o = await openWebSocket(gw);
        if (o.outcome !== 'open') return undefined;
        o.ws.close();
        return o.outcome;
      },
      'a WebSocket slot to come free',
      5000,
    );
    expect(again).toBe('open');
    for (const o of open.slice(1)) o.ws.close();
  });
});
