/**
 * An upstream connection and the era its server speaks, against a scripted peer that records every
 * message: the probe and its fallbacks on the same transport, and what a 2026-07-28 server is sent
 * (the envelope on every request; 2025-only methods mapped or answered, never sent; one listen
 * stream, reopened when the subscribed resources change, whose notifications reach the owner as a
 * 2025 session's would).
 */
import { createLogger } from '../log';
import { META } from '../protocol/eras';
import { FleetError } from '../protocol/errors';
import { errorResponse, isRequest, type JsonRpcMessage, type JsonRpcNotification, type JsonRpcRequest } from '../protocol/jsonrpc';
import type { MessageTransport, ReceivedContext } from '../protocol/transport';
import { waitFor } from '../../test/helpers/wait';
import { UpstreamConnection } from './connection';

const INIT = { protocolVersion: '2025-11-25', capabilities: { elicitation: {} }, clientInfo: { name: 'gateway-test', version: '1' } };
const DISCOVERED = {
  resultType: 'complete',
  supportedVersions: ['2026-07-28'],
  capabilities: { tools: { listChanged: true }, resources: { subscribe: true } },
  _meta: { [META.serverInfo]: { name: 'modern', version: '3' } },
};

/** Answers requests as `script` says (undefined: never), and records what it was sent. */
class ScriptedPeer implements MessageTransport {
  readonly sent: JsonRpcMessage[] = [];
  onmessage?: (m: JsonRpcMessage, context?: ReceivedContext) => void;
  onclose?: () => void;

  constructor(private readonly script: (r: JsonRpcRequest) => Record<string, unknown> | { error: { code: number; message: string } } | undefined) {}

  async start(): Promise<void> {}

  async send(m: JsonRpcMessage): Promise<void> {
    this.sent.push(m);
    if (!isRequest(m)) return;
    const answer = this.script(m);
    if (answer === undefined) return;
    queueMicrotask(() =>
      this.onmessage?.('error' in answer ? { jsonrpc: '2.0', id: m.id, error: answer.error as never } : { jsonrpc: '2.0', id: m.id, result: answer }),
    );
  }

  async close(): Promise<void> {
    this.onclose?.();
  }

  push(m: JsonRpcMessage): void {
    this.onmessage?.(m);
  }

  methods(): string[] {
    return this.sent.map((m) => ('method' in m ? m.method : 'response'));
  }

  requests(method: string): JsonRpcRequest[] {
    return this.sent.filter((m): m is JsonRpcRequest => isRequest(m) && m.method === method);
  }
}

/** A 2026-07-28 server whose listen streams stay open, each acknowledged at once unless `acks` says not yet. */
function modernServer(acks = { now: true }): ScriptedPeer {
  const peer: ScriptedPeer = new ScriptedPeer((r) => {
    if (r.method === 'server/discover') return DISCOVERED;
    if (r.method !== 'subscriptions/listen') return { resultType: 'complete', echoed: r.params };
    if (acks.now) queueMicrotask(() => peer.push(acknowledgement(r.id)));
    return undefined;
  });
  return peer;
}

function acknowledgement(id: unknown): JsonRpcNotification {
  return { jsonrpc: '2.0', method: 'notifications/subscriptions/acknowledged', params: { _meta: { [META.subscriptionId]: id }, notifications: {} } };
}

const legacyAnswers = (r: JsonRpcRequest) =>
  r.method === 'initialize' ? { protocolVersion: '2025-11-25', capabilities: {}, serverInfo: { name: 'old', version: '1' } } : {};

async function connect(peer: ScriptedPeer, era: 'legacy' | 'modern' | undefined = undefined) {
  const notifications: JsonRpcNotification[] = [];
  const verdicts: string[] = [];
  const closed: (Error | undefined)[] = [];
  const conn = new UpstreamConnection(
    's',
    peer,
    { notification: (n) => void notifications.push(n), request: async () => ({ result: {} }), closed: (_c, reason) => void closed.push(reason) },
    createLogger('silent'),
  );
  const opened = conn.open(INIT, { timeoutMs: 5_000, era, probeTimeoutMs: 50, learnt: (e, why) => void verdicts.push(`${e}: ${why}`) });
  return { conn, opened, notifications, verdicts, closed };
}

describe('the probe (protocol: auto)', () => {
  it('falls back to initialize on the same transport when server/discover is an unknown method', async () => {
    const peer = new ScriptedPeer((r) => (r.method === 'server/discover' ? { error: { code: -32601, message: 'Method not found' } } : legacyAnswers(r)));
    const { conn, opened, verdicts } = await connect(peer);
    await opened;
    expect([conn.era, peer.methods(), verdicts]).toEqual([
      'legacy',
      ['server/discover', 'initialize', 'notifications/initialized'],
      ['legacy: server/discover was answered with error -32601 (Method not found)'],
    ]);
    expect(peer.requests('server/discover')[0].params).toEqual({
      _meta: { [META.protocolVersion]: '2026-07-28', [META.clientCapabilities]: INIT.capabilities, [META.clientInfo]: INIT.clientInfo },
    });
  });

  it('falls back when the probe goes unanswered for probeTimeoutMs', async () => {
    const peer = new ScriptedPeer((r) => (r.method === 'server/discover' ? undefined : legacyAnswers(r)));
    const { conn, opened, verdicts } = await connect(peer);
    await opened;
    expect([conn.era, verdicts]).toEqual(['legacy', ['legacy: server/discover was not answered in time']]);
  });

  it('takes a DiscoverResult for a 2026-07-28 server: no initialize, the discovered capabilities and identity', async () => {
    const peer = modernServer();
    const { conn, opened, verdicts } = await connect(peer);
    await opened;
    expect([conn.era, conn.init.serverInfo, conn.capabilities, verdicts]).toEqual([
      'modern',
      { name: 'modern', version: '3' },
      DISCOVERED.capabilities,
      ['modern: server/discover offers 2026-07-28'],
    ]);
    expect(peer.methods()).toEqual(['server/discover', 'subscriptions/listen']);
    expect(peer.requests('subscriptions/listen')[0].params?.notifications).toEqual({ toolsListChanged: true });
  });

  it('refuses an answer that is no DiscoverResult, and a configured 2026-07-28 server that is not one', async () => {
    const garbage = await connect(new ScriptedPeer(() => ({ supportedVersions: ['2026-07-28'], capabilities: 'all' })));
    await expect(garbage.opened).rejects.toThrow(
      'server "s" answered server/discover with something that is not a DiscoverResult: capabilities must be an object (got "all")',
    );
    const pinned = await connect(new ScriptedPeer(() => ({ error: { code: -32601, message: 'Method not found' } })), 'modern');
    await expect(pinned.opened).rejects.toThrow('server "s" is configured as 2026-07-28 but server/discover was answered with error -32601 (Method not found)');
  });
});

describe('a 2026-07-28 upstream', () => {
  it("carries the envelope on every request, the caller's capabilities over the connection's own", async () => {
    const peer = modernServer();
    const { conn, opened } = await connect(peer);
    await opened;
    const answer = await conn.request(
      'tools/call',
      { name: 't', _meta: { [META.clientCapabilities]: { sampling: {} }, traceparent: 'x' } },
      { timeoutMs: 1000 },
    ).response;
    expect(answer).toMatchObject({ result: { resultType: 'complete' } });
    expect(peer.requests('tools/call')[0].params?._meta).toEqual({
      [META.protocolVersion]: '2026-07-28',
      [META.clientCapabilities]: { sampling: {} },
      [META.clientInfo]: INIT.clientInfo,
      traceparent: 'x',
    });
  });

  it('maps ping to server/discover and answers logging/setLevel itself; drops roots/list_changed', async () => {
    const peer = modernServer();
    const { conn, opened } = await connect(peer);
    await opened;
    expect(await conn.request('ping', undefined, { timeoutMs: 1000 }).response).toMatchObject({ result: {} });
    expect(await conn.request('logging/setLevel', { level: 'debug' }, { timeoutMs: 1000 }).response).toMatchObject({ result: {} });
    await conn.notify('notifications/roots/list_changed');
    expect(peer.methods()).toEqual(['server/discover', 'subscriptions/listen', 'server/discover']);
  });

  it('answers a subscription once the server acknowledged the listen stream that carries it', async () => {
    const acks = { now: true };
    const peer = modernServer(acks);
    const { conn, opened } = await connect(peer);
    await opened;
    acks.now = false;
    let answered = false;
    const subscribed = conn.request('resources/subscribe', { uri: 'test://r' }, { timeoutMs: 1000 }).response.then(() => (answered = true));
    await conn.request('tools/list', {}, { timeoutMs: 1000 }).response; // sent after the new listen stream, answered without it
    expect(answered).toBe(false);
    peer.push(acknowledgement(peer.requests('subscriptions/listen')[1].id));
    await subscribed;
  });

  it('subscribes by reopening its listen stream with the resource, then cancelling the old one', async () => {
    const peer = modernServer();
    const { conn, opened } = await connect(peer);
    await opened;
    const first = peer.requests('subscriptions/listen')[0];
    await conn.request('resources/subscribe', { uri: 'test://r' }, { timeoutMs: 1000 }).response;
    const second = peer.requests('subscriptions/listen')[1];
    expect(second.params?.notifications).toEqual({ toolsListChanged: true, resourceSubscriptions: ['test://r'] });
    expect(peer.sent.at(-1)).toMatchObject({ method: 'notifications/cancelled', params: { requestId: first.id } });
    await conn.request('resources/subscribe', { uri: 'test://r' }, { timeoutMs: 1000 }).response;
    expect(peer.requests('subscriptions/listen')).toHaveLength(2); // already subscribed: nothing changes
    await conn.request('resources/unsubscribe', { uri: 'test://r' }, { timeoutMs: 1000 }).response;
    expect(peer.requests('subscriptions/listen')[2].params?.notifications).toEqual({ toolsListChanged: true });
  });

  it("hands on the listen stream's notifications as a 2025 session's, without the acknowledgement or a replaced stream's", async () => {
    const peer = modernServer();
    const { conn, opened, notifications } = await connect(peer);
    await opened;
    const first = peer.requests('subscriptions/listen')[0].id;
    const tag = (id: unknown) => ({ _meta: { [META.subscriptionId]: id } });
    peer.push({ jsonrpc: '2.0', method: 'notifications/tools/list_changed', params: tag(first) });
    await conn.request('resources/subscribe', { uri: 'test://r' }, { timeoutMs: 1000 }).response;
    const second = peer.requests('subscriptions/listen')[1].id;
    peer.push({ jsonrpc: '2.0', method: 'notifications/tools/list_changed', params: tag(first) });
    peer.push({ jsonrpc: '2.0', method: 'notifications/resources/updated', params: { uri: 'test://r', ...tag(second) } });
    expect(notifications).toEqual([
      { jsonrpc: '2.0', method: 'notifications/tools/list_changed', params: {} },
      { jsonrpc: '2.0', method: 'notifications/resources/updated', params: { uri: 'test://r' } },
    ]);
  });

  it('gives the connection up when its listen stream ends (a result, notifications/cancelled on stdio, or lost with the link), and carries on deaf when the server has none', async () => {
    const peer = modernServer();
    const { conn, opened, closed } = await connect(peer);
    await opened;
    peer.push({ jsonrpc: '2.0', id: peer.requests('subscriptions/listen')[0].id, result: { resultType: 'complete' } });
    await waitFor(() => closed.length > 0, 'the connection to be given up');
    expect([conn.isOpen, closed.map((e) => e?.message)]).toEqual([false, ['the server ended its subscriptions/listen stream (a final result)']]);

    const cancelling = modernServer();
    const torn = await connect(cancelling);
    await torn.opened;
    cancelling.push({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: cancelling.requests('subscriptions/listen')[0].id } });
    await waitFor(() => torn.closed.length > 0, 'the connection whose listen stream the server cancelled to be given up');
    expect(torn.closed.map((e) => e?.message)).toEqual(['the server ended its subscriptions/listen stream (it cancelled the stream)']);

    // the link drops under the stream (HTTP: its response ended without the answer), the server runs on
    const dropped = modernServer();
    const cut = await connect(dropped);
    await cut.opened;
    const lost = new FleetError('UPSTREAM_UNAVAILABLE', 'no answer to request 2: the connection was lost');
    dropped.onmessage?.(errorResponse(dropped.requests('subscriptions/listen')[0].id, lost.toJsonRpcError()), { failure: lost });
    await waitFor(() => cut.closed.length > 0, 'the connection whose listen stream was lost to be given up');
    expect(cut.closed.map((e) => e?.message)).toEqual([
      'the subscriptions/listen stream to the server was lost (no answer to request 2: the connection was lost); reconnecting, so that no change goes unheard',
    ]);

    const none = new ScriptedPeer((r) => (r.method === 'server/discover' ? DISCOVERED : { error: { code: -32601, message: 'Method not found' } }));
    const other = await connect(none);
    await other.opened;
    await other.conn.request('tools/list', {}, { timeoutMs: 1000 }).response; // the refused listen was answered before this
    expect([other.conn.isOpen, other.closed]).toEqual([true, []]);
  });
});
