/**
 * 2026-07-28 clients on /mcp, in front of 2025 servers: the official SDK v2 client pinned to the
 * modern revision (no session, an envelope on every request), and raw requests where the wire
 * itself is under test. The gateway discovers, lists and calls with no session, checks the
 * routing headers against the body, turns a 2025 server's question during a call into an
 * input_required result and the retry's answer into the server's reply, seals its requestState,
 * streams list changes on subscriptions/listen, and carries progress and cancellation.
 */
import type { Client } from '@modelcontextprotocol/client';
import { connectModernGateway, type ModernConnection } from '../../gateway/client/connect-modern';
import { META } from '../../gateway/protocol/eras';
import { connectClient, disconnect, newMarker, startTestGateway, type TestGateway } from '../helpers/gateway';
import { waitForNoProcesses } from '../helpers/processes';
import { envelope, modernRequest, postModern } from '../helpers/raw-modern';
import { scripted, sleepsStarted } from '../helpers/scripted';
import { everything } from '../helpers/servers';
import { waitFor } from '../helpers/wait';
import { testSecret } from '../helpers/secret-values';

jest.setTimeout(60_000);

let gw: TestGateway;
let mcp: string;
const marker = newMarker();
const connections: ModernConnection[] = [];

async function modern(options: Parameters<typeof connectModernGateway>[1] = {}): Promise<Client> {
  const c = await connectModernGateway(gw.url, options);
  connections.push(c);
  return c.client;
}

beforeAll(async () => {
  gw = await startTestGateway(
    {
      servers: {
        ev: everything(marker),
        s: scripted(marker, ['--tools', 'echo,sleep,add_tool,mirrored,bad_header']),
        r: scripted(marker, ['--tools', 'touch', '--resources']),
      },
    },
    marker,
  );
  mcp = `${gw.url}/mcp`;
});

afterAll(async () => {
  for (const c of connections) await c.close();
  await gw?.stop();
  expect(await waitForNoProcesses(marker)).toEqual([]);
});

describe('the SDK v2 client pinned to 2026-07-28', () => {
  it('discovers the gateway, lists the fleet and calls a tool of a 2025 server, with no session', async () => {
    const client = await modern();
    expect(client.getNegotiatedProtocolVersion()).toBe('2026-07-28');
    expect(client.getDiscoverResult()).toMatchObject({
      supportedVersions: ['2026-07-28'],
      capabilities: { tools: { listChanged: true }, prompts: { listChanged: true }, resources: { listChanged: true } },
    });
    const names = (await client.listTools()).tools.map((t) => t.name);
    expect(names).toEqual(expect.arrayContaining(['ev__echo', 's__echo', 's__sleep']));
    expect(await client.callTool({ name: 'ev__echo', arguments: { message: 'stateless' } })).toMatchObject({
      content: [{ type: 'text', text: 'Echo: stateless' }],
    });
    expect(gw.sessions.count).toBe(0);
  });

  it('answers a 2025 server elicitation during a call through input_required and the retry', async () => {
    const asked: unknown[] = [];
    const client = await modern({
      capabilities: { elicitation: {} },
      setup: (c) =>
        c.setRequestHandler('elicitation/create', async (request) => {
          asked.push(request.params);
          return { action: 'accept', content: { name: 'Ada', check: true, firstLine: 'It was a dark night', integer: 42, number: 3.14, enum: 'choice1' } };
        }),
    });
    const result = await client.callTool({ name: 'ev__trigger-elicitation-request', arguments: {} });
    expect(asked).toHaveLength(1);
    expect(asked[0]).toMatchObject({ message: 'Please provide inputs for the following fields:' });
    expect(JSON.stringify(result.content)).toContain('Ada');
    expect(gw.held.size).toBe(0);
  });

  it('answers a 2025 server sampling request during a call the same way', async () => {
    const asked: any[] = [];
    const client = await modern({
      capabilities: { sampling: {} },
      setup: (c) =>
        c.setRequestHandler('sampling/createMessage', async (request) => {
          asked.push(request.params);
          return { role: 'assistant', content: { type: 'text', text: 'sampled by the 2026 client' }, model: 'test-model', stopReason: 'endTurn' };
        }),
    });
    const result = await client.callTool({ name: 'ev__trigger-sampling-request', arguments: { prompt: 'hello', maxTokens: 20 } });
    expect(asked).toHaveLength(1);
    expect(JSON.stringify(asked[0].messages)).toContain('hello');
    expect(JSON.stringify(result.content)).toContain('sampled by the 2026 client');
    expect(gw.held.size).toBe(0);
  });

  it('streams list changes of the fleet on subscriptions/listen, acknowledged first and tagged', async () => {
    const client = await modern();
    const changes: string[] = [];
    client.setNotificationHandler('notifications/tools/list_changed', () => void changes.push('tools'));
    const subscription = await client.listen({ toolsListChanged: true });
    expect(subscription.honoredFilter).toMatchObject({ toolsListChanged: true });
    await client.callTool({ name: 's__add_tool', arguments: {} });
    await waitFor(() => changes.length > 0, 'tools/list_changed on the listen stream');
    await subscription.close();
    await waitFor(() => gw.listens.size === 0, 'the listen stream to close');
  });
});

describe('the wire of a 2026-07-28 request', () => {
  it('answers with resultType, caching hints and the gateway identity, and no session id', async () => {
    const r = await postModern(mcp, modernRequest(1, 'tools/list'));
    expect(r.status).toBe(200);
    expect(r.headers.get('mcp-session-id')).toBeNull();
    expect(r.messages[0].result).toMatchObject({
      resultType: 'complete',
      ttlMs: 0,
      cacheScope: 'private',
      _meta: { [META.serverInfo]: { name: 'mcp-fleet-gateway' } },
    });
  });

  it('refuses headers that disagree with the body (-32020), an unknown version (-32022) and a missing envelope (-32602), each with 400 and the request id', async () => {
    const call = modernRequest(7, 'tools/call', { name: 'ev__echo', arguments: { message: 'x' } });
    const cases: [Record<string, string | null>, number][] = [
      [{ 'mcp-method': 'tools/list' }, -32020],
      [{ 'mcp-method': null }, -32020],
      [{ 'mcp-protocol-version': null }, -32020],
      [{ 'mcp-name': 'ev__other' }, -32020],
      [{ 'mcp-name': null }, -32020],
      [{ 'mcp-protocol-version': '2026-07-27' }, -32020],
    ];
    for (const [headers, code] of cases) {
      const r = await postModern(mcp, call, headers);
      expect({ headers, status: r.status, code: r.messages[0]?.error?.code, id: r.messages[0]?.id }).toEqual({ headers, status: 400, code, id: 7 });
    }
    const base64 = await postModern(mcp, call, { 'mcp-name': `=?base64?${Buffer.from('ev__echo').toString('base64')}?=` });
    expect(base64.messages[0].result.content[0].text).toBe('Echo: x');
    const future = await postModern(mcp, modernRequest(8, 'tools/list', {}, envelope({}, { [META.protocolVersion]: '2099-01-01' })));
    expect([future.status, future.messages[0].error]).toEqual([
      400,
      expect.objectContaining({ code: -32022, data: expect.objectContaining({ supported: ['2026-07-28'], requested: '2099-01-01' }) }),
    ]);
    const bare = await postModern(mcp, { jsonrpc: '2.0', id: 9, method: 'tools/list', params: { _meta: { [META.protocolVersion]: '2026-07-28' } } });
    expect([bare.status, bare.messages[0].id, bare.messages[0].error.code]).toEqual([400, 9, -32602]);
  });

  it("passes a 2025 server the client's own _meta keys but not its envelope, which described the hop to the gateway", async () => {
    const r = await postModern(
      mcp,
      modernRequest(13, 'tools/call', { name: 's__echo', arguments: {}, _meta: { 'example.com/tag': 'kept' } }, envelope({}, { [META.logLevel]: 'error' })),
    );
    const meta = r.messages[0].result.receivedParams._meta;
    expect(meta['example.com/tag']).toBe('kept');
    expect(Object.keys(meta).filter((k) => k.startsWith('io.modelcontextprotocol/'))).toEqual([]);
  });

  it('checks the Mcp-Param-* headers of a tool that mirrors parameters, and leaves out a tool whose annotation is invalid', async () => {
    const args = { region: 'Hello, 世界', priority: 3, query: 'q' };
    const call = (headers: Record<string, string | null>, a: Record<string, unknown> = args) =>
      postModern(mcp, modernRequest(11, 'tools/call', { name: 's__mirrored', arguments: a }), headers);
    const good = await call({ 'mcp-param-region': `=?base64?${Buffer.from('Hello, 世界').toString('base64')}?=`, 'mcp-param-priority': '3' });
    expect([good.status, good.messages[0].result?.receivedParams?.arguments]).toEqual([200, args]);
    const cases: Record<string, string | null>[] = [
      { 'mcp-param-priority': '3' }, // Region omitted while the body has it
      { 'mcp-param-region': 'elsewhere', 'mcp-param-priority': '3' },
      { 'mcp-param-region': '=?base64?SGVsbG8?=', 'mcp-param-priority': '3' }, // bad padding
      { 'mcp-param-region': `=?base64?${Buffer.from('Hello, 世界').toString('base64')}?=`, 'mcp-param-priority': '4' },
    ];
    for (const headers of cases) {
      const r = await call(headers);
      expect({ headers, status: r.status, code: r.messages[0]?.error?.code, id: r.messages[0]?.id }).toEqual({ headers, status: 400, code: -32020, id: 11 });
    }
    // nothing mirrored, nothing expected: a call without the annotated arguments needs no headers
    const bare = await call({}, { query: 'q' });
    expect(bare.status).toBe(200);
    const names = (await postModern(mcp, modernRequest(12, 'tools/list'))).messages[0].result.tools.map((t: { name: string }) => t.name);
    expect(names).toEqual(expect.arrayContaining(['s__mirrored']));
    expect(names).not.toContain('s__bad_header');
  });

  it('knows no 2025 methods (404 -32601): initialize, ping, logging/setLevel, resources/subscribe', async () => {
    for (const method of ['ping', 'logging/setLevel', 'resources/subscribe', 'tasks/list']) {
      const r = await postModern(mcp, modernRequest(`m-${method}`, method, {}));
      expect({ method, status: r.status, code: r.messages[0].error.code }).toEqual({ method, status: 404, code: -32601 });
    }
  });

  it('seals its requestState: a retry with it completes, a tampered one is refused, a replay finds nothing', async () => {
    const caps = envelope({ elicitation: {} });
    const first = await postModern(mcp, modernRequest(1, 'tools/call', { name: 'ev__trigger-elicitation-request', arguments: {} }, caps));
    const asked = first.messages[0].result;
    expect(asked).toMatchObject({
      resultType: 'input_required',
      inputRequests: { q1: { method: 'elicitation/create' } },
      requestState: expect.stringMatching(/^fs1\./),
    });
    const tampered = await postModern(
      mcp,
      modernRequest(
        2,
        'tools/call',
        { name: 'ev__trigger-elicitation-request', arguments: {}, inputResponses: {}, requestState: `${asked.requestState}x` },
        caps,
      ),
    );
    expect(tampered.messages[0].error).toMatchObject({ code: -32602, data: { reason: 'invalid_request_state' } });
    const otherArgs = await postModern(
      mcp,
      modernRequest(3, 'tools/call', { name: 'ev__trigger-elicitation-request', arguments: { extra: 1 }, requestState: asked.requestState }, caps),
    );
    expect(otherArgs.messages[0].error).toMatchObject({ code: -32602 });
    const answer = { action: 'accept', content: { name: 'Grace', check: true, firstLine: 'x', integer: 1, number: 1, enum: 'choice1' } };
    const retry = await postModern(
      mcp,
      modernRequest(
        4,
        'tools/call',
        { name: 'ev__trigger-elicitation-request', arguments: {}, inputResponses: { q1: answer }, requestState: asked.requestState },
        caps,
      ),
    );
    expect(retry.messages[0]).toMatchObject({ id: 4, result: { resultType: 'complete' } });
    expect(JSON.stringify(retry.messages[0].result.content)).toContain('Grace');
    const replay = await postModern(
      mcp,
      modernRequest(
        5,
        'tools/call',
        { name: 'ev__trigger-elicitation-request', arguments: {}, inputResponses: { q1: answer }, requestState: asked.requestState },
        caps,
      ),
    );
    expect(replay.messages[0].error).toMatchObject({ code: -32602, message: expect.stringContaining('already continued') });
  });

  it('tells a client that lacks the capability a 2025 server asks for (-32021, 400) and gives up the call', async () => {
    const r = await postModern(mcp, modernRequest(11, 'tools/call', { name: 'ev__trigger-elicitation-request', arguments: {} }));
    expect(r.status).toBe(400);
    expect(r.messages[0]).toMatchObject({ id: 11, error: { code: -32021, data: { requiredCapabilities: { elicitation: {} } } } });
    await waitFor(() => gw.logs.some((l) => l.msg === 'call' && l.server === 'ev' && l.outcome === 'cancelled'), 'the upstream call to be given up');
  });

  it('streams progress of a call on its own answer, with the client token', async () => {
    const r = await postModern(
      mcp,
      modernRequest(12, 'tools/call', { name: 'ev__trigger-long-running-operation', arguments: { duration: 0.3, steps: 3 }, _meta: { progressToken: 'mine' } }),
    );
    expect(r.headers.get('content-type')).toBe('text/event-stream');
    const progress = r.messages.filter((m) => m.method === 'notifications/progress');
    expect(progress.map((m) => [m.params.progressToken, m.params.progress])).toEqual([
      ['mine', 1],
      ['mine', 2],
      ['mine', 3],
    ]);
    expect(r.messages.at(-1)).toMatchObject({ id: 12, result: { resultType: 'complete' } });
  });

  it('acknowledges a listen stream first and tags each notification with the listen id', async () => {
    const listen = openListen(modernRequest('listen-1', 'subscriptions/listen', { notifications: { toolsListChanged: true, promptsListChanged: true } }));
    const events = listen.events;
    await waitFor(() => events.length > 0, 'the acknowledgement');
    expect(events[0]).toEqual({
      jsonrpc: '2.0',
      method: 'notifications/subscriptions/acknowledged',
      params: { _meta: { [META.subscriptionId]: 'listen-1' }, notifications: { toolsListChanged: true, promptsListChanged: true } },
    });
    await postModern(mcp, modernRequest(13, 'tools/call', { name: 's__add_tool', arguments: {} }));
    await waitFor(() => events.some((e) => e.method === 'notifications/tools/list_changed'), 'the list change');
    expect(events.find((e) => e.method === 'notifications/tools/list_changed')).toEqual({
      jsonrpc: '2.0',
      method: 'notifications/tools/list_changed',
      params: { _meta: { [META.subscriptionId]: 'listen-1' } },
    });
    await listen.close();
    await waitFor(() => gw.listens.size === 0, 'the listen stream to end');
  });

  it('delivers updates of the resources a listen stream names, subscribed upstream for it, and refuses a list past the bound', async () => {
    const listen = openListen(modernRequest('listen-r', 'subscriptions/listen', { notifications: { resourceSubscriptions: ['test://r', 'test://unknown'] } }));
    await waitFor(() => listen.events.length > 0, 'the acknowledgement');
    // only what a subscribable server owns is honoured
    expect(listen.events[0].params.notifications).toEqual({ resourceSubscriptions: ['test://r'] });
    // the scripted server notifies only URIs subscribed on it: the update proves the upstream subscription
    await postModern(mcp, modernRequest(14, 'tools/call', { name: 'r__touch', arguments: {} }));
    await waitFor(() => listen.events.some((e) => e.method === 'notifications/resources/updated'), 'the resource update');
    expect(listen.events.find((e) => e.method === 'notifications/resources/updated')).toEqual({
      jsonrpc: '2.0',
      method: 'notifications/resources/updated',
      params: { uri: 'test://r', _meta: { [META.subscriptionId]: 'listen-r' } },
    });
    await listen.close();
    await waitFor(() => gw.listens.size === 0, 'the listen stream to end');

    const tooMany = Array.from({ length: 1025 }, (_, i) => `test://r${i}`);
    const refused = await postModern(mcp, modernRequest('listen-big', 'subscriptions/listen', { notifications: { resourceSubscriptions: tooMany } }));
    expect(refused.messages[0]).toMatchObject({ id: 'listen-big', error: { code: -32602, message: expect.stringContaining('at most 1024') } });
  });

  it('cancels the upstream call when the client closes the stream', async () => {
    const controller = new AbortController();
    const logsBefore = gw.logs.length;
    const pending = fetch(mcp, {
      method: 'POST',
      signal: controller.signal,
      headers: streamHeaders('tools/call', 's__sleep'),
      body: JSON.stringify(modernRequest(1, 'tools/call', { name: 's__sleep', arguments: { ms: 30_000 } })),
    }).catch((err: Error) => err);
    await waitFor(() => sleepsStarted(gw.logs, 's') > 0, 'the call to run upstream');
    controller.abort();
    await pending;
    await waitFor(() => gw.logs.slice(logsBefore).some((l) => l.msg === 'call' && l.server === 's' && l.outcome === 'cancelled'), 'the call to end cancelled');
  });
});

describe('a second gateway instance', () => {
  it('answers a modern client it never saw; with the same stateKeys it opens the state of the first, and refuses to continue a call the first holds', async () => {
    const keys = { stateless: { stateKeys: [{ id: 'k1', secret: testSecret('a-secret-both-instances-share-0123456789') }] } };
    const first = await startTestGateway({ ...gw.doc, ...keys }, marker);
    const second = await startTestGateway({ ...gw.doc, ...keys }, marker);
    try {
      const answered = await postModern(`${second.url}/mcp`, modernRequest(1, 'tools/call', { name: 'ev__echo', arguments: { message: 'any instance' } }));
      expect(answered.messages[0].result.content[0].text).toBe('Echo: any instance');
      const caps = envelope({ elicitation: {} });
      const asked = (await postModern(`${first.url}/mcp`, modernRequest(2, 'tools/call', { name: 'ev__trigger-elicitation-request', arguments: {} }, caps)))
        .messages[0].result;
      const retry = (url: string, id: number) =>
        postModern(
          url,
          modernRequest(
            id,
            'tools/call',
            { name: 'ev__trigger-elicitation-request', arguments: {}, inputResponses: { q1: { action: 'decline' } }, requestState: asked.requestState },
            caps,
          ),
        );
      const elsewhere = await retry(`${second.url}/mcp`, 3);
      expect(elsewhere.messages[0].error).toMatchObject({ code: -32602, message: expect.stringContaining('waits in another gateway instance') });
      const home = await retry(`${first.url}/mcp`, 4);
      expect(home.messages[0]).toMatchObject({ id: 4, result: { resultType: 'complete' } });
      // an instance with other keys cannot open it at all
      const stranger = await retry(mcp, 5);
      expect(stranger.messages[0].error).toMatchObject({ code: -32602, message: expect.stringContaining('not a requestState this gateway issued') });
    } finally {
      await first.stop();
      await second.stop();
    }
  });
});

describe('2025 clients beside them', () => {
  it('keep their sessions on the same URL', async () => {
    const client = await connectClient(gw, 'streamable-http');
    try {
      expect(await client.callTool({ name: 'ev__echo', arguments: { message: 'legacy' } })).toMatchObject({ content: [{ text: 'Echo: legacy' }] });
    } finally {
      await disconnect(client);
    }
  });
});

/** The headers of a modern POST a test reads as a stream (postModern waits for the whole answer). */
function streamHeaders(method: string, name?: string): Record<string, string> {
  return {
    'content-type': 'application/json',
    accept: 'application/json, text/event-stream',
    'mcp-protocol-version': '2026-07-28',
    'mcp-method': method,
    ...(name ? { 'mcp-name': name } : {}),
  };
}

/** A listen stream read as it comes: its events so far, and how to close it. */
function openListen(request: ReturnType<typeof modernRequest>): { events: any[]; close(): Promise<void> } {
  const controller = new AbortController();
  const events: any[] = [];
  const reading = (async () => {
    const res = await fetch(mcp, {
      method: 'POST',
      signal: controller.signal,
      headers: streamHeaders('subscriptions/listen'),
      body: JSON.stringify(request),
    });
    const decoder = new TextDecoder();
    let buf = '';
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      buf += decoder.decode(chunk, { stream: true });
      for (let i = buf.indexOf('\n\n'); i >= 0; i = buf.indexOf('\n\n')) {
        const data = /^data: (.*)$/m.exec(buf.slice(0, i))?.[1];
        buf = buf.slice(i + 2);
        if (data) events.push(JSON.parse(data));
      }
    }
  })().catch(() => {
    // aborted by close()
  });
  return {
    events,
    close: async () => {
      controller.abort();
      await reading;
    },
  };
}
