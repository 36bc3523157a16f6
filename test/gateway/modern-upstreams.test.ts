/**
 * Upstreams of either protocol generation behind one gateway. With `protocol: auto` each server is
 * probed with server/discover: the conformance fixture (SDK v2) answers it over stdio and over
 * Streamable HTTP and is served as a 2026-07-28 server, with no session; server-everything (SDK v1,
 * over stdio: -32601; over HTTP: 400) and a server that never answers the probe fall back to
 * initialize; a server that answers it with garbage is refused with an error saying so. SDK v1
 * clients see 2025 answers either way; list changes and resource updates reach clients of both eras.
 */
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import {
  LoggingMessageNotificationSchema,
  ResourceUpdatedNotificationSchema,
  ToolListChangedNotificationSchema,
  type Progress,
} from '@modelcontextprotocol/sdk/types.js';
import { connectModernGateway, type ModernConnection } from '../../gateway/client/connect-modern';
import { z } from 'zod';
import { connectClient, disconnect, newMarker, startTestGateway, type TestGateway } from '../helpers/gateway';
import { requireCurrentBuild } from '../helpers/dist';
import { counterStdio, fixtureStdio, startCounterHttp, startFixtureHttp } from '../helpers/fixture-servers';
import { waitForNoProcesses } from '../helpers/processes';
import { startEverythingHttp, type RemoteServer } from '../helpers/remote-servers';
import { sampleValue, scrapeMetrics } from '../helpers/metrics';
import { modernRequest, postModern } from '../helpers/raw-modern';
import { scripted } from '../helpers/scripted';
import { everything } from '../helpers/servers';
import { waitFor } from '../helpers/wait';

jest.setTimeout(60_000);

const RawResult = z.looseObject({});

let gw: TestGateway;
let http: RemoteServer;
let counter: RemoteServer;
let everythingHttp: RemoteServer;
const marker = newMarker();
const clients: Client[] = [];
const modern: ModernConnection[] = [];

async function client(front: Parameters<typeof connectClient>[1] = 'streamable-http'): Promise<Client> {
  const c = await connectClient(gw, front);
  clients.push(c);
  return c;
}

/** What the probe of `server` found, as its log line says: the era and why. */
function learnt(server: string): string | undefined {
  const line = gw.logs.find((l) => l.server === server && typeof l.era === 'string' && typeof l.why === 'string');
  return line && `${String(line.era)}: ${String(line.why)}`;
}

beforeAll(async () => {
  requireCurrentBuild(['test/conformance', 'test/fixtures']);
  http = await startFixtureHttp(marker);
  counter = await startCounterHttp(marker);
  everythingHttp = await startEverythingHttp('streamableHttp', marker);
  gw = await startTestGateway(
    {
      servers: {
        fx: fixtureStdio(marker),
        fh: { url: http.url },
        mc: { url: counter.url },
        ms: { ...counterStdio(marker), args: [...counterStdio(marker).args, '--scheme', 'stdio'] },
        eh: { url: everythingHttp.url },
        ev: everything(marker),
        quiet: scripted(marker, ['--discover', 'silent', '--tools', 'echo'], { probeTimeoutMs: 200 }),
        bad: scripted(marker, ['--discover', 'garbage', '--tools', 'echo']),
        quits: scripted(marker, ['--discover', 'exit', '--tools', 'echo']),
      },
    },
    marker,
  );
});

afterAll(async () => {
  for (const c of clients) await disconnect(c).catch(() => {});
  for (const c of modern) await c.close();
  await gw?.stop();
  await http?.stop();
  await counter?.stop();
  await everythingHttp?.stop();
  expect(await waitForNoProcesses(marker)).toEqual([]);
});

describe('protocol: auto', () => {
  it('takes the fixture for a 2026-07-28 server over stdio and HTTP, and the others for 2025 servers', () => {
    expect(['fx', 'fh', 'ev', 'eh', 'quiet'].map((s) => [s, learnt(s), gw.registry.groupFor(undefined, s)?.connections[0]?.era])).toEqual([
      ['fx', 'modern: server/discover offers 2026-07-28', 'modern'],
      ['fh', 'modern: server/discover offers 2026-07-28', 'modern'],
      ['ev', 'legacy: server/discover was answered with error -32601 (Method not found)', 'legacy'],
      ['eh', 'legacy: server/discover was refused with HTTP 400', 'legacy'],
      ['quiet', 'legacy: server/discover was not answered in time', 'legacy'],
    ]);
  });

  it('takes a server that exits when probed for a 2025 one, and initializes it when it is restarted', async () => {
    const quits = gw.registry.groupFor(undefined, 'quits')!;
    await waitFor(() => quits.state === 'ready', 'the restarted server to be initialized');
    expect([learnt('quits'), quits.connections[0].era]).toEqual(['legacy: the server closed the connection when probed with server/discover', 'legacy']);
  });

  it('refuses a server that answers the probe with something that is not a DiscoverResult, saying what was wrong', async () => {
    const bad = gw.registry.groupFor(undefined, 'bad')!;
    await waitFor(() => bad.lastError, 'the probe of "bad" to fail');
    expect(bad.state).not.toBe('ready');
    expect(bad.lastError!.message).toBe(
      'server "bad" answered server/discover with something that is not a DiscoverResult: supportedVersions must be an array of version strings (got "all of them"); set protocol: 2025-11-25 for it if it is a 2025 server',
    );
  });
});

describe('an SDK v1 client (2025-11-25) in front of 2026-07-28 servers', () => {
  it.each(['fx', 'fh'])('lists and calls the tools of %s, getting results without the 2026 fields', async (server) => {
    const c = await client();
    const names = (await c.listTools()).tools.map((t) => t.name);
    expect(names).toEqual(expect.arrayContaining([`${server}__test_simple_text`, `${server}__test_input_required_result_elicitation`]));
    const result = await c.request({ method: 'tools/call', params: { name: `${server}__test_simple_text`, arguments: {} } }, RawResult);
    expect(result).toEqual({ content: [{ type: 'text', text: 'This is a simple text response for testing.' }] });
    const read = await c.request({ method: 'resources/read', params: { uri: 'test://static-text' } }, RawResult);
    expect(read).not.toHaveProperty('resultType');
    expect(read).not.toHaveProperty('ttlMs');
    expect(JSON.stringify(read)).not.toContain('io.modelcontextprotocol/');
  });

  it.each(['fx', 'fh'])('gets the prompts of %s, with their arguments, and completes an argument', async (server) => {
    const c = await client();
    const prompt = await c.getPrompt({ name: `${server}__test_prompt_with_arguments`, arguments: { arg1: 'a', arg2: 'b' } });
    expect(prompt.messages).toEqual([{ role: 'user', content: { type: 'text', text: "Prompt with arguments: arg1='a', arg2='b'" } }]);
    const completion = await c.complete({
      ref: { type: 'ref/prompt', name: `${server}__test_prompt_with_arguments` },
      argument: { name: 'arg1', value: 'par' },
    });
    expect(completion.completion.values).toEqual(['paris', 'park', 'party']);
  });

  it('lists the resource templates of a 2026-07-28 server and reads a resource through one', async () => {
    const c = await client();
    expect((await c.listResourceTemplates()).resourceTemplates.map((t) => t.uriTemplate)).toContain('test://template/{id}/data');
    const read = await c.readResource({ uri: 'test://template/456/data' });
    expect(JSON.parse((read.contents[0] as { text: string }).text)).toMatchObject({ id: '456', templateTest: true });
  });

  it("mirrors a tool's x-mcp-header arguments into Mcp-Param-* headers for a 2026-07-28 server over HTTP, which checks them", async () => {
    const c = await client();
    for (const region of ['eu-west-1', ' padded ', 'zürich'])
      expect(await c.callTool({ name: 'fh__test_custom_header', arguments: { region } })).toMatchObject({
        content: [{ type: 'text', text: `Region: ${region}` }],
      });
  });

  it("reuses a 2026-07-28 server's HTTP keep-alive connections, and reports them per backend (admin statistics and metrics)", async () => {
    const c = await client();
    const backend = () => gw.registry.status(gw.registry.get('mc')).backends.find((b) => b.id === 'primary')!;
    const before = backend().httpPool!;
    for (let i = 0; i < 40; i++) await c.callTool({ name: 'mc__bump', arguments: {} });
    const after = backend().httpPool!;
    // one call after another: every request after the first finds a socket open
    expect(after.requests - before.requests).toBeGreaterThanOrEqual(40);
    expect((after.reused - before.reused) / (after.requests - before.requests)).toBeGreaterThan(0.9);
    expect(after.efficiency).toBe(after.reused / after.requests);
    // the listen stream holds one socket all along
    expect(after.inUse).toBeGreaterThanOrEqual(1);
    const samples = await scrapeMetrics(gw);
    expect(sampleValue(samples, 'mcp_gateway_http_pool_requests_total', { server: 'mc', backend: 'primary', socket: 'reused' })).toBeGreaterThanOrEqual(
      after.reused,
    );
    expect(sampleValue(samples, 'mcp_gateway_http_pool_sockets', { server: 'mc', backend: 'primary', state: 'in_use' })).toBeGreaterThanOrEqual(1);
    // a server over stdio has no HTTP connections to report
    expect(gw.registry.status(gw.registry.get('fx')).backends[0].httpPool).toBeUndefined();
    expect(sampleValue(samples, 'mcp_gateway_http_pool_sockets', { server: 'fx', backend: 'primary', state: 'in_use' })).toBeUndefined();
  });

  it('answers ping and logging/setLevel, the 2026-07-28 upstreams staying ready (the connection maps them: modern-upstream.test.ts)', async () => {
    const c = await client();
    await c.ping();
    await c.setLoggingLevel('debug');
    expect(gw.registry.groupFor(undefined, 'fx')!.state).toBe('ready');
  });

  it('hears list changes of a 2026-07-28 server, which reach it on the listen stream the gateway opened', async () => {
    const c = await client();
    let changed = 0;
    c.setNotificationHandler(ToolListChangedNotificationSchema, () => void changed++);
    await c.callTool({ name: 'fx__test_trigger_tool_change', arguments: {} });
    await waitFor(() => changed > 0, 'tools/list_changed from fx');
    await c.callTool({ name: 'fh__test_trigger_tool_change', arguments: {} });
    await waitFor(() => changed > 1, 'tools/list_changed from fh');
  });

  it.each(['fx', 'fh'])('carries its log level to %s in each request, and hears the log lines of its call', async (server) => {
    const c = await client();
    const lines: unknown[] = [];
    c.setNotificationHandler(LoggingMessageNotificationSchema, (n) => void lines.push(n.params.data));
    await c.setLoggingLevel('info');
    await c.callTool({ name: `${server}__test_tool_with_logging`, arguments: {} });
    await waitFor(() => lines.length === 3, 'three log lines');
    expect(lines).toEqual(['Tool execution started', 'Tool processing data', 'Tool execution completed']);
  });

  it("keeps the log lines of a call to a Streamable HTTP upstream to that call's client, whatever other clients' levels", async () => {
    const [a, b] = [await client('streamable-http'), await client('websocket')];
    const heard = { a: [] as unknown[], b: [] as unknown[] };
    a.setNotificationHandler(LoggingMessageNotificationSchema, (n) => void heard.a.push(n.params.data));
    b.setNotificationHandler(LoggingMessageNotificationSchema, (n) => void heard.b.push(n.params.data));
    await a.setLoggingLevel('debug');
    await b.setLoggingLevel('debug');
    await a.callTool({ name: 'fh__test_tool_with_logging', arguments: {} });
    await waitFor(() => heard.a.length === 3, "the call's three log lines");
    await b.ping(); // one WebSocket: anything sent to b before the answer to its ping has arrived
    expect(heard.b).toEqual([]);
  });

  it.each(['fx', 'fh'])('gets the progress %s reports on its call', async (server) => {
    const c = await client();
    const progress: Progress[] = [];
    const result = await c.callTool({ name: `${server}__test_tool_with_progress`, arguments: {} }, undefined, { onprogress: (p) => progress.push(p) });
    expect(progress.map((p) => [p.progress, p.total])).toEqual([
      [0, 100],
      [50, 100],
      [100, 100],
    ]);
    expect((result.content as { text: string }[])[0].text).toMatch(/^Tool with progress executed successfully \(progress token "fleet-progress-\d+"\)$/);
  });
});

describe('cancellation of a call to a 2026-07-28 server', () => {
  it.each([
    ['mc', 'over Streamable HTTP, by closing its stream', 'test'],
    ['ms', 'over stdio, by notifications/cancelled', 'stdio'],
  ])('reaches %s %s when the SDK v1 client cancels', async (server, _how, scheme) => {
    const c = await client();
    const controller = new AbortController();
    let running!: () => void;
    const started = new Promise<void>((resolve) => (running = resolve));
    const call = c.callTool({ name: `${server}__wait`, arguments: {} }, undefined, { signal: controller.signal, onprogress: () => running() });
    await started;
    controller.abort('the user gave up');
    await expect(call).rejects.toThrow();
    await waitFor(async () => {
      const read = await c.readResource({ uri: `${scheme}://cancelled` });
      return Number((read.contents[0] as { text: string }).text) > 0;
    }, `${server} to see its call cancelled`);
  });
});

describe('resource updates of a 2026-07-28 server (the stateless counter), heard on the listen stream the gateway keeps to it', () => {
  it('reach an SDK v1 client that subscribed, from the moment its subscribe is answered', async () => {
    const c = await client();
    const updates: string[] = [];
    c.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => void updates.push(n.params.uri));
    await c.subscribeResource({ uri: 'test://counter' });
    await c.callTool({ name: 'mc__bump', arguments: {} });
    await waitFor(() => updates.length > 0, 'notifications/resources/updated');
    expect(updates).toEqual(['test://counter']);
    await c.unsubscribeResource({ uri: 'test://counter' });
  });

  it('reach a 2026-07-28 client whose listen stream names the resource', async () => {
    const connection = await connectModernGateway(gw.url);
    modern.push(connection);
    const updates: unknown[] = [];
    connection.client.setNotificationHandler('notifications/resources/updated', (n) => void updates.push(n.params.uri));
    const subscription = await connection.client.listen({ resourceSubscriptions: ['test://counter'] });
    expect(subscription.honoredFilter).toMatchObject({ resourceSubscriptions: ['test://counter'] });
    await connection.client.callTool({ name: 'mc__bump', arguments: {} });
    await waitFor(() => updates.length > 0, 'notifications/resources/updated on the listen stream');
    await subscription.close();
  });
});

describe('a 2026-07-28 client in front of 2026-07-28 servers', () => {
  it.each(['fx', 'fh'])('lists, calls, gets prompts, completes and reads through %s', async (server) => {
    const connection = await connectModernGateway(gw.url);
    modern.push(connection);
    const { client: c } = connection;
    expect((await c.listTools()).tools.map((t) => t.name)).toContain(`${server}__test_simple_text`);
    expect(await c.callTool({ name: `${server}__test_simple_text`, arguments: {} })).toMatchObject({
      content: [{ type: 'text', text: 'This is a simple text response for testing.' }],
    });
    const prompt = await c.getPrompt({ name: `${server}__test_prompt_with_arguments`, arguments: { arg1: 'x', arg2: 'y' } });
    expect(prompt.messages[0].content).toEqual({ type: 'text', text: "Prompt with arguments: arg1='x', arg2='y'" });
    const completion = await c.complete({
      ref: { type: 'ref/prompt', name: `${server}__test_prompt_with_arguments` },
      argument: { name: 'arg2', value: 'test' },
    });
    expect(completion.completion.values).toEqual(['test-value-1', 'test-value-2']);
    const read = await c.readResource({ uri: 'test://static-text' });
    expect(read.contents[0]).toMatchObject({ uri: 'test://static-text', mimeType: 'text/plain' });
  });

  it.each(['fx', 'fh'])("relays %s's refusal of a call that needs a capability the client lacks as the spec's 400 -32021", async (server) => {
    const r = await postModern(`${gw.url}/mcp`, modernRequest(21, 'tools/call', { name: `${server}__test_missing_capability`, arguments: {} }));
    expect([r.status, r.messages[0]?.id, r.messages[0]?.error?.code]).toEqual([400, 21, -32021]);
    expect(r.messages[0].error.data).toMatchObject({ requiredCapabilities: { sampling: {} } });
  });

  it('hears their list changes on its own listen stream to the gateway', async () => {
    const connection = await connectModernGateway(gw.url);
    modern.push(connection);
    const changes: string[] = [];
    connection.client.setNotificationHandler('notifications/tools/list_changed', () => void changes.push('tools'));
    const subscription = await connection.client.listen({ toolsListChanged: true });
    await connection.client.callTool({ name: 'fh__test_trigger_tool_change', arguments: {} });
    await waitFor(() => changes.length > 0, 'tools/list_changed on the listen stream');
    await subscription.close();
  });
});
