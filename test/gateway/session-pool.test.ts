/**
 * A pool of upstream sessions towards a shared 2025 Streamable HTTP server (`servers.X.pool`). The
 * upstream `up` is another gateway (speaking 2025-11-25 to the outer one, as `protocol` pins it),
 * whose own session count shows how many pooled sessions exist; its scripted server sleeps, echoes,
 * changes its tool list and sends resource updates. The upstream `fx` is the conformance fixture
 * over HTTP pinned to 2025-11-25, whose tools log, report progress, sample, elicit and ask for roots
 * during a call: with it, two clients with calls in flight on different pooled sessions must not see
 * each other's log lines, progress, server requests or roots (the README's isolation rule). Official
 * SDK clients on the outer gateway. The interval check runs against a small official-SDK server that
 * ends sessions silently (no GET stream, as a server may choose), so that nothing but a ping finds
 * one it forgot.
 */
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import {
  CreateMessageRequestSchema,
  ElicitRequestSchema,
  ListRootsRequestSchema,
  LoggingMessageNotificationSchema,
  ResourceUpdatedNotificationSchema,
  ToolListChangedNotificationSchema,
} from '@modelcontextprotocol/sdk/types.js';
import { requireCurrentBuild } from '../helpers/dist';
import { startFixtureHttp } from '../helpers/fixture-servers';
import { connectClient, disconnect, newMarker, startTestGateway, type TestGateway } from '../helpers/gateway';
import { waitForNoProcesses } from '../helpers/processes';
import type { RemoteServer } from '../helpers/remote-servers';
import { scripted, sleepsStarted } from '../helpers/scripted';
import { waitFor } from '../helpers/wait';

const marker = newMarker();
let inner: TestGateway;
let outer: TestGateway;
let fixture: RemoteServer;
const clients: Client[] = [];

const pool = (server = 'up') => outer.registry.status(outer.registry.get(server)).backends[0].pool!;
const text = (r: unknown) => (r as { content: { text: string }[] }).content[0].text;

async function client(options: Parameters<typeof connectClient>[2] = {}): Promise<Client> {
  const c = await connectClient(outer, 'streamable-http', options);
  clients.push(c);
  return c;
}

beforeAll(async () => {
  requireCurrentBuild(['test/conformance']);
  fixture = await startFixtureHttp(marker);
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
        // four sessions kept open, one request on each at a time: calls at once are on different sessions
        fx: { url: fixture.url, protocol: '2025-11-25', pool: { min: 4, max: 4, maxConcurrent: 1, acquireTimeoutMs: 10_000 } },
      },
    },
    marker,
  );
  await waitFor(() => pool('fx').size === 4, "fx's pool filled to its four sessions", 10_000);
});

afterAll(async () => {
  await Promise.all(clients.map((c) => disconnect(c)));
  await outer?.stop();
  // the pool's sessions ended with the outer gateway: the inner one holds none
  await waitFor(() => inner.sessions.count === 0, 'the inner gateway to have no session left', 5_000);
  await inner?.stop();
  await fixture?.stop();
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

it("sends each call's sampling and elicitation requests to its own client only, with four calls at once on four sessions", async () => {
  const asked: Record<string, string[]> = { a: [], b: [] };
  let answer!: () => void;
  const held = new Promise<void>((resolve) => (answer = resolve));
  // the answers wait until all four questions are out, so the four calls are in flight at once
  const ask = (who: string, question: string) => {
    asked[who].push(question);
    return held;
  };
  const asking = (who: string) =>
    client({
      capabilities: { sampling: {}, elicitation: {} },
      setup: (c) => {
        c.setRequestHandler(CreateMessageRequestSchema, async (r) => {
          const prompt = (r.params.messages[0].content as { text: string }).text;
          await ask(who, prompt);
          return { role: 'assistant', model: who, content: { type: 'text', text: `${who} answers ${prompt}` } };
        });
        c.setRequestHandler(ElicitRequestSchema, async (r) => {
          await ask(who, r.params.message);
          return { action: 'accept', content: { username: who, email: `${who}@example.com` } };
        });
      },
    });
  const [a, b] = [await asking('a'), await asking('b')];
  const results = Promise.all(
    (
      [
        [a, 'test_sampling', { prompt: 'prompt of a' }],
        [b, 'test_sampling', { prompt: 'prompt of b' }],
        [a, 'test_elicitation', { message: 'message for a' }],
        [b, 'test_elicitation', { message: 'message for b' }],
      ] as const
    ).map(([c, name, args]) => c.callTool({ name: `fx__${name}`, arguments: args }).then(text)),
  );
  await waitFor(() => asked.a.length + asked.b.length === 4, 'four questions asked', 10_000);
  expect(pool('fx')).toMatchObject({ size: 4, inUse: 4 }); // one call on each session
  expect({ a: asked.a.sort(), b: asked.b.sort() }).toEqual({ a: ['message for a', 'prompt of a'], b: ['message for b', 'prompt of b'] });
  answer();
  expect(await results).toEqual([
    'LLM response: a answers prompt of a',
    'LLM response: b answers prompt of b',
    'Elicitation completed: action=accept, content={"username":"a","email":"a@example.com"}',
    'Elicitation completed: action=accept, content={"username":"b","email":"b@example.com"}',
  ]);
});

it('gives each client the log lines of its own calls only, at its own level, with three calls at once on pooled sessions', async () => {
  const heard: Record<string, string[]> = { a: [], b: [], quiet: [] };
  const logging = async (who: string, level: 'info' | 'warning') => {
    const c = await client();
    c.setNotificationHandler(LoggingMessageNotificationSchema, (n) => void heard[who].push(String(n.params.data)));
    await c.setLoggingLevel(level);
    return c;
  };
  const [a, b, quiet] = [await logging('a', 'info'), await logging('b', 'info'), await logging('quiet', 'warning')];
  const results = await Promise.all([a, b, quiet].map((c) => c.callTool({ name: 'fx__test_tool_with_logging', arguments: {} }).then(text)));
  expect(results).toEqual(Array(3).fill('Tool with logging executed successfully'));
  // one round trip more for each: nothing else arrived meanwhile
  await Promise.all([a.ping(), b.ping(), quiet.ping()]);
  const lines = ['Tool execution started', 'Tool processing data', 'Tool execution completed'];
  // the upstream emits info on every session (the backend's own was asked for the most verbose level wanted, the pooled
  // ones for none): the gateway passes each client only its own calls' lines, at its own level
  expect(heard).toEqual({ a: lines, b: lines, quiet: [] });
});

it('gives each call its own progress only, with calls of two clients at once on pooled sessions', async () => {
  const [a, b] = [await client(), await client()];
  const progress: Record<string, number[]> = { a: [], b: [] };
  const results = await Promise.all(
    (
      [
        [a, 'a'],
        [b, 'b'],
      ] as const
    ).map(([c, who]) =>
      c.callTool({ name: 'fx__test_tool_with_progress', arguments: {} }, undefined, { onprogress: (p) => void progress[who].push(p.progress) }).then(text),
    ),
  );
  for (const r of results) expect(r).toMatch(/^Tool with progress executed successfully/);
  expect(progress).toEqual({ a: [0, 50, 100], b: [0, 50, 100] });
});

it("keeps every client's roots from the pooled sessions: a call on one is never asked for any client's roots", async () => {
  const rootsAsked: string[] = [];
  const rooted = (who: string) =>
    client({
      capabilities: { roots: { listChanged: true } },
      setup: (c) =>
        c.setRequestHandler(ListRootsRequestSchema, async () => {
          rootsAsked.push(who);
          return { roots: [{ uri: `file:///${who}` }] };
        }),
    });
  const [a, b] = [await rooted('a'), await rooted('b')];
  // two calls of each client at once, spread over the open sessions
  const results = await Promise.all([a, b, a, b].map((c) => c.callTool({ name: 'fx__test_input_required_result_list_roots', arguments: {} })));
  // every session declared the gateway's capabilities, without roots, so the server could not ask: nobody's roots reached it
  for (const r of results)
    expect(r).toEqual({
      content: [{ type: 'text', text: expect.stringContaining('did not declare the required capability') as string }],
      isError: true,
    });
  expect(rootsAsked).toEqual([]);
});
