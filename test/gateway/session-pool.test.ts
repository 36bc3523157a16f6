/**
 * A pool of upstream sessions towards a shared 2025 Streamable HTTP server (`servers.X.pool`). The
 * upstream is another gateway (speaking 2025-11-25 to the outer one, as `protocol` pins it), whose
 * own session count shows how many pooled sessions exist; its scripted server sleeps, echoes,
 * changes its tool list and sends resource updates. Official SDK clients on the outer gateway.
 * The interval check runs against a small official-SDK server that ends sessions silently (no GET
 * stream, as a server may choose), so that nothing but a ping finds one it forgot.
 */
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { ResourceUpdatedNotificationSchema, ToolListChangedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { connectClient, disconnect, newMarker, startTestGateway, type TestGateway } from '../helpers/gateway';
import { waitForNoProcesses } from '../helpers/processes';
import { scripted, sleepsStarted } from '../helpers/scripted';
import { waitFor } from '../helpers/wait';

const marker = newMarker();
let inner: TestGateway;
let outer: TestGateway;
const clients: Client[] = [];

const pool = () => outer.registry.status(outer.registry.get('up')).backends[0].pool!;
const text = (r: unknown) => (r as { content: { text: string }[] }).content[0].text;

async function client(): Promise<Client> {
  const c = await connectClient(outer, 'streamable-http');
  clients.push(c);
  return c;
}

beforeAll(async () => {
  inner = await startTestGateway({ servers: { s: scripted(marker, ['--tools', 'sleep,echo,touch,add_tool', '--resources']) } }, marker);
  outer = await startTestGateway(
    {
      servers: {
        up: {
          url: `${inner.url}/mcp`,
          protocol: '2025-11-25',
          prefix: false,
          pool: { min: 1, max: 3, maxConcurrent: 1, maxWaiters: 1, acquireTimeoutMs: 10_000, idleTimeoutMs: 400 },
        },
      },
    },
    marker,
  );
});

afterAll(async () => {
  await Promise.all(clients.map((c) => disconnect(c)));
  await outer?.stop();
  // the pool's sessions ended with the outer gateway: the inner one holds none
  await waitFor(() => inner.sessions.count === 0, 'the inner gateway to have no session left', 5_000);
  await inner?.stop();
  expect(await waitForNoProcesses(marker)).toEqual([]);
});

it('opens sessions while requests need them, queues one more, refuses past the queue, and shrinks back when idle', async () => {
  const c = await client();
  expect(inner.sessions.count).toBe(1); // the backend's own session
  const calls = [0, 1, 2].map(() => c.callTool({ name: 's__sleep', arguments: { ms: 1500 } }));
  await waitFor(() => sleepsStarted(inner.logs, 's') === 3, 'three calls running upstream', 10_000);
  expect(inner.sessions.count).toBe(3);
  expect(pool()).toMatchObject({ size: 3, inUse: 3, idle: 0, created: 2, reused: 1 });

  // every session takes one request: the next one waits, the one after is refused at once
  const queued = c.callTool({ name: 's__echo', arguments: {} });
  await waitFor(() => pool().waiters === 1, 'one request waiting', 5_000);
  await expect(c.callTool({ name: 's__echo', arguments: {} })).rejects.toThrow(
    /pooled sessions are busy and 1 requests wait already \(servers\.up\.pool\.maxWaiters\)/,
  );
  expect(text(await queued)).toBe('scripted:echo');
  for (const r of await Promise.all(calls)) expect(text(r)).toBe('slept 1500');

  // idle past idleTimeoutMs, the added sessions close (down to min: the backend's own)
  await waitFor(() => inner.sessions.count === 1, 'the pool shrunk to its one session', 10_000);
  expect(pool()).toMatchObject({ size: 1, waiters: 0 });
});

it('reuses its sessions for a steady stream of requests (efficiency over 0.9)', async () => {
  const c = await client();
  const before = pool();
  for (let i = 0; i < 50; i++) expect(text(await c.callTool({ name: 's__echo', arguments: {} }))).toBe('scripted:echo');
  const after = pool();
  expect(after.created).toBe(before.created); // one request at a time never needs a second session
  expect(after.reused - before.reused).toBe(50);
  expect(after.efficiency).toBeGreaterThan(0.9);
  const metrics = await (await fetch(`${outer.url}/metrics`)).text();
  expect(metrics).toMatch(/mcp_gateway_session_pool_leases_total\{server="up",backend="primary",outcome="reused"\} \d+/);
  expect(metrics).toMatch(/mcp_gateway_session_pool_sessions\{server="up",backend="primary",state="idle"\} 1/);
});

it("keeps one client's subscriptions and list changes from others, and tells each once, with pooled sessions open", async () => {
  const [a, b] = [await client(), await client()];
  const heard = { aUpdates: 0, bUpdates: 0, aLists: 0, bLists: 0 };
  a.setNotificationHandler(ResourceUpdatedNotificationSchema, () => void heard.aUpdates++);
  b.setNotificationHandler(ResourceUpdatedNotificationSchema, () => void heard.bUpdates++);
  a.setNotificationHandler(ToolListChangedNotificationSchema, () => void heard.aLists++);
  b.setNotificationHandler(ToolListChangedNotificationSchema, () => void heard.bLists++);
  // grow the pool to three sessions, so that updates could arrive more than once if the pool let them
  const sleeps = [0, 1, 2].map(() => b.callTool({ name: 's__sleep', arguments: { ms: 800 } }));
  await waitFor(() => pool().size === 3, 'the pool at three sessions', 10_000);
  await a.subscribeResource({ uri: 'test://r' });
  await Promise.all(sleeps);

  // the subscription went to one upstream session: touching reports one subscriber, and only A hears it
  expect(text(await b.callTool({ name: 's__touch', arguments: {} }))).toBe('scripted:touched 1');
  await waitFor(() => heard.aUpdates === 1, 'A told of the update', 5_000);
  await a.callTool({ name: 's__add_tool', arguments: { name: 'added_by_a' } });
  await waitFor(() => heard.aLists >= 1 && heard.bLists >= 1, 'both told the tool list changed', 5_000);
  expect((await b.listTools()).tools.map((t) => t.name)).toContain('s__added_by_a');
  // one round trip more through every session: nothing else arrived meanwhile
  await Promise.all([a.ping(), b.ping()]);
  expect(heard).toEqual({ aUpdates: 1, bUpdates: 0, aLists: 1, bLists: 1 });
});

/**
 * A stateful Streamable HTTP server that offers no GET stream (405) and answers 404 for a session
 * it does not know. `forget` ends a session on its side only, as one whose sessions expire does:
 * the client hears nothing until it sends on that session.
 */
async function startForgetfulServer() {
  const sessions = new Map<string, StreamableHTTPServerTransport>();
  const opened: string[] = [];
  const server = createServer((req, res) => {
    const sid = req.headers['mcp-session-id'];
    if (req.method === 'GET') return void res.writeHead(405).end();
    const known = typeof sid === 'string' ? sessions.get(sid) : undefined;
    if (sid !== undefined && !known) return void res.writeHead(404).end();
    if (known) return void known.handleRequest(req, res);
    const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      onsessioninitialized: (id) => {
        sessions.set(id, transport);
        opened.push(id);
      },
    });
    transport.onclose = () => transport.sessionId && sessions.delete(transport.sessionId);
    void new McpServer({ name: 'forgetful', version: '1.0.0' }).connect(transport).then(() => transport.handleRequest(req, res));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`,
    opened,
    sessions,
    forget: (id: string) => sessions.get(id)!.close(),
    async stop() {
      await Promise.all([...sessions.values()].map((t) => t.close()));
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
}

it('pings its idle sessions on an interval and replaces one the server forgot, with no request to find it', async () => {
  const upstream = await startForgetfulServer();
  const gw = await startTestGateway(
    { servers: { f: { url: upstream.url, protocol: '2025-11-25', pool: { min: 2, max: 3, validateIntervalMs: 200 } } } },
    marker,
  );
  try {
    const stats = () => gw.registry.status(gw.registry.get('f')).backends[0].pool!;
    await waitFor(() => stats().size === 2, 'the pool filled to min', 5_000);
    // the second session opened is the pool's own (the first is the backend's supervised one)
    const pooled = upstream.opened[1];
    await upstream.forget(pooled);

    await gw.waitForLog((l) => l.msg === 'idle pooled upstream session failed validation; closed', 'the interval check to fail the forgotten session');
    await waitFor(() => upstream.opened.length === 3 && stats().size === 2, 'a new session in its place', 5_000);
    expect(stats()).toMatchObject({ size: 2, failed: 1, reused: 0, created: 0 });
    expect(upstream.sessions.has(upstream.opened[2])).toBe(true);
    await gw.stop();
    // stopping, the gateway ended every session it had
    expect(upstream.sessions.size).toBe(0);
  } finally {
    await gw.stop();
    await upstream.stop();
  }
});
