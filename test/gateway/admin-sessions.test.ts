/**
 * GET /admin/sessions on a real gateway with client authentication on: real SDK clients of two
 * principals over Streamable HTTP, legacy SSE and WebSocket are listed with their front, version,
 * client, principal, times, calls in flight and subscriptions, by the short form of their ids
 * only (no whole session id in the answer); filters by principal and front; a limit with the
 * total; a stateless 2026-07-28 request never listed; bad query parameters refused naming the
 * parameter; callers without admin:read refused.
 */
import type { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { connectGateway, type GatewayConnection, type NetworkFront } from '../../gateway/client/connect';
import { admin } from '../helpers/admin';
import { newMarker, startTestGateway, type TestGateway } from '../helpers/gateway';
import { waitForNoProcesses } from '../helpers/processes';
import { modernRequest, postModern } from '../helpers/raw-modern';
import { scripted } from '../helpers/scripted';
import { testSecret } from '../helpers/secret-values';
import { waitFor } from '../helpers/wait';

const ADMIN_TOKEN = testSecret('admin-sessions-admin-token-0123456789abcdef');
const READER_KEY = testSecret('admin-sessions-reader-key-0123456789abcdefg');
const ALICE_KEY = testSecret('admin-sessions-alice-key-0123456789abcdefgh');
const BOB_KEY = testSecret('admin-sessions-bob-key-0123456789abcdefghijk');
const marker = newMarker();
let gw: TestGateway;
const open: GatewayConnection[] = [];

beforeAll(async () => {
  gw = await startTestGateway(
    {
      auth: {
        apiKeys: {
          keys: [
            { name: 'alice', key: ALICE_KEY },
            { name: 'bob', key: BOB_KEY },
            { name: 'reader', key: READER_KEY, roles: ['admin:read'] },
          ],
        },
      },
      admin: { token: ADMIN_TOKEN },
      servers: { s: scripted(marker, ['--tools', 'echo,sleep', '--resources']) },
    },
    marker,
  );
});

afterEach(async () => {
  await Promise.all(open.splice(0).map((c) => c.close()));
  await waitFor(() => gw.sessions.count === 0, 'every session to be closed');
});

afterAll(async () => {
  await gw?.stop();
  expect(await waitForNoProcesses(marker)).toEqual([]);
});

async function session(front: NetworkFront, key: string, name: string): Promise<GatewayConnection> {
  const c = await connectGateway(gw.url, front, { name, version: '2.5.0', headers: { authorization: `Bearer ${key}` } });
  open.push(c);
  return c;
}

const list = (query = '', token: string | null = ADMIN_TOKEN) => admin(gw, 'GET', `/admin/sessions${query}`, { token });

/** Every whole id the gateway holds for its open sessions: its own, and the one the client names the session by. */
const wholeIds = () => gw.sessions.list().flatMap(({ session }) => [session.id, ...(session.channel.sessionId ? [session.channel.sessionId] : [])]);

test('lists each open session of every network front by its short id, with its client, principal, times, calls in flight and subscriptions', async () => {
  const http = await session('streamable-http', ALICE_KEY, 'alice-http');
  await session('sse', BOB_KEY, 'bob-sse');
  await session('websocket', ALICE_KEY, 'alice-ws');
  await http.client.subscribeResource({ uri: 'test://r' });
  // ends when the session does, below
  const sleeping = http.client.callTool({ name: 's__sleep', arguments: { ms: 60_000 } }).catch(() => undefined);
  try {
    const busy = await waitFor(async () => {
      const r = await list();
      return r.body.sessions.find((s: { client: { name: string } }) => s.client.name === 'alice-http')?.inFlight === 1 ? r : undefined;
    }, 'the sleep call to be in flight');
    expect(busy.status).toBe(200);
    expect(busy.body).toMatchObject({ total: 3, limit: 100, stateless: expect.stringContaining('2026-07-28') });
    const byName = Object.fromEntries(busy.body.sessions.map((s: { client: { name: string } }) => [s.client.name, s]));
    const httpId = (http.client.transport as StreamableHTTPClientTransport).sessionId!;
    expect(byName['alice-http']).toEqual({
      id: `${httpId.slice(0, 8)}…`,
      front: 'streamable-http',
      era: 'legacy',
      protocolVersion: expect.stringMatching(/^\d{4}-\d{2}-\d{2}$/),
      client: { name: 'alice-http', version: '2.5.0' },
      principal: 'api-key:alice',
      openedAt: expect.any(String),
      lastActivity: expect.any(String),
      inFlight: 1,
      subscriptions: 1,
    });
    expect(byName['bob-sse']).toMatchObject({ front: 'sse', principal: 'api-key:bob', inFlight: 0, subscriptions: 0 });
    expect(byName['alice-ws']).toMatchObject({ front: 'websocket', principal: 'api-key:alice', inFlight: 0, subscriptions: 0 });
    for (const s of busy.body.sessions) {
      expect(s.id).toMatch(/^[0-9a-f-]{8}…$/);
      expect(Date.parse(s.lastActivity)).toBeGreaterThanOrEqual(Date.parse(s.openedAt));
    }
    // most recently active first: the session that just called comes before the others
    expect(busy.body.sessions[0].client.name).toBe('alice-http');
    const text = JSON.stringify(busy.body);
    const ids = wholeIds();
    expect(ids).toHaveLength(5); // three of the gateway's own, the Mcp-Session-Id and the SSE sessionId
    for (const id of ids) expect(text).not.toContain(id);
  } finally {
    await http.close();
    await sleeping;
  }
});

test('filters by principal and front, and cuts at limit with the total; a stateless 2026-07-28 request is never listed', async () => {
  await session('streamable-http', ALICE_KEY, 'a1');
  await session('websocket', ALICE_KEY, 'a2');
  await session('sse', BOB_KEY, 'b1');
  const modern = await postModern(`${gw.url}/mcp`, modernRequest(1, 'tools/list'), { authorization: `Bearer ${BOB_KEY}` });
  expect(modern.status).toBe(200);

  const names = (r: { body: { sessions: { client: { name: string } }[] } }) => r.body.sessions.map((s) => s.client.name).sort();
  expect(names(await list())).toEqual(['a1', 'a2', 'b1']);
  const bob = await list('?principal=api-key:bob');
  expect(bob.body).toMatchObject({ total: 1 });
  expect(names(bob)).toEqual(['b1']);
  expect(names(await list('?front=websocket'))).toEqual(['a2']);
  expect(names(await list('?principal=api-key:alice&front=streamable-http'))).toEqual(['a1']);
  expect((await list('?principal=api-key:nobody')).body).toMatchObject({ total: 0, sessions: [] });
  const one = await list('?limit=1');
  expect(one.body).toMatchObject({ total: 3, limit: 1 });
  expect(one.body.sessions).toHaveLength(1);
});

test('refuses bad query parameters with 400 naming the parameter', async () => {
  const cases: [string, RegExp][] = [
    ['?limit=0', /^limit takes a whole number from 1 to 1000 \(got "0"\)/],
    ['?limit=1001', /^limit takes a whole number from 1 to 1000/],
    ['?limit=ten', /^limit takes a whole number from 1 to 1000 \(got "ten"\)/],
    ['?front=pigeon', /^front takes one of streamable-http, sse, websocket, stdio \(got "pigeon"\)/],
    ['?principal=', /^principal takes a principal id of 1 to 256 characters \(got 0\)/],
    [`?principal=${'p'.repeat(257)}`, /^principal takes a principal id of 1 to 256 characters \(got 257\)/],
    ['?front=sse&front=websocket', /^front is given more than once/],
    ['?colour=red', /^unknown parameter "colour" on \/admin\/sessions; it takes principal, front, limit$/],
  ];
  for (const [query, message] of cases) {
    const r = await list(query);
    expect({ query, status: r.status, error: r.body.error }).toEqual({ query, status: 400, error: expect.stringMatching(message) });
  }
});

test('answers admin:read, refuses a client without it (403) and a caller without credentials (401)', async () => {
  await session('streamable-http', ALICE_KEY, 'a1');
  const reader = await list('', READER_KEY);
  expect(reader.status).toBe(200);
  expect(reader.body.total).toBe(1);
  const client = await list('', ALICE_KEY);
  expect(client.status).toBe(403);
  expect(client.body.error).toBe('GET /admin/sessions needs the role admin:read (or admin); api-key:alice has no roles');
  expect((await list('', null)).status).toBe(401);
  expect((await admin(gw, 'POST', '/admin/sessions', { token: ADMIN_TOKEN })).status).toBe(405);
});
