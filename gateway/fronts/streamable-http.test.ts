/**
 * The Streamable HTTP front in-process, against a scripted stand-in for the gateway's ClientSession:
 * lazy SSE (JSON until something must go before the response), the GET stream, resumption with
 * Last-Event-ID, refusals with the SDK's status codes, and that a session keeps nothing per call.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { toFleetError } from '../protocol/errors';
import { isRequest, type JsonRpcMessage, type JsonRpcRequest, type RequestId } from '../protocol/jsonrpc';
import type { ClientSession, FrontChannel } from '../session/client-session';
import { sendError } from '../http/http-util';
import { waitFor } from '../../test/helpers/wait';
import type { ModernHttpFront } from './modern-http';
import { RECONNECT_AFTER_MS } from './sse-stream';
import { StreamableHttpFront } from './streamable-http';
import { ANONYMOUS } from '../auth/principal';

/** Answers like a ClientSession would, by method: echo, progress (related notifications first), announce, hold. */
class ScriptedClient {
  readonly id = 'scripted';
  protocolVersion = '';
  lastActivity = Date.now();
  inFlightCount = 0;

  touch(): void {
    this.lastActivity = Date.now();
  }

  /** The front hands every request's credential to its session (for token exchange); nothing here uses it. */
  presented(): void {}

  closed = false;
  readonly log = pino({ level: 'silent' });
  readonly received: JsonRpcMessage[] = [];
  readonly held = new Map<RequestId, JsonRpcRequest>();

  constructor(readonly channel: FrontChannel) {}

  receive(m: JsonRpcMessage): void {
    this.received.push(m);
    if (isRequest(m)) setImmediate(() => this.answer(m));
  }

  reply(id: RequestId, result: Record<string, unknown>): Promise<void> {
    return this.channel.send({ jsonrpc: '2.0', id, result });
  }

  progress(id: RequestId, progress: number): Promise<void> {
    return this.channel.send({ jsonrpc: '2.0', method: 'notifications/progress', params: { progressToken: id, progress } }, id);
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.channel.close();
  }

  private async answer(m: JsonRpcRequest): Promise<void> {
    switch (m.method) {
      case 'initialize':
        this.protocolVersion = String(m.params?.protocolVersion);
        return this.reply(m.id, { protocolVersion: this.protocolVersion });
      case 'progress':
        await this.progress(m.id, 1);
        await this.progress(m.id, 2);
        return this.reply(m.id, { done: true });
      case 'announce':
        await this.channel.send({ jsonrpc: '2.0', method: 'notifications/tools/list_changed' });
        return this.reply(m.id, {});
      case 'hold':
        this.held.set(m.id, m);
        return this.progress(m.id, 1);
      case 'hold-quietly':
        this.held.set(m.id, m);
        return;
      default:
        return this.reply(m.id, { echo: m.params ?? {} });
    }
  }
}

interface SseEvent {
  id?: string;
  event?: string;
  retry?: string;
  data: string;
}

/** Reads SSE events from a response until `enough` says so (then leaves the stream open) or the stream ends. */
async function readEvents(res: Response, enough: (events: SseEvent[]) => boolean = () => false): Promise<{ events: SseEvent[]; ended: boolean }> {
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  const events: SseEvent[] = [];
  let buf = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return { events, ended: true };
    buf += decoder.decode(value, { stream: true });
    let i;
    while ((i = buf.indexOf('\n\n')) >= 0) {
      const block = buf.slice(0, i);
      buf = buf.slice(i + 2);
      if (block.startsWith(':')) continue;
      const e: SseEvent = { data: '' };
      for (const line of block.split('\n')) {
        const [field, ...rest] = line.split(': ');
        if (field === 'id') e.id = rest.join(': ');
        if (field === 'event') e.event = rest.join(': ');
        if (field === 'retry') e.retry = rest.join(': ');
        if (field === 'data') e.data = rest.join(': ');
      }
      events.push(e);
    }
    if (enough(events)) {
      reader.releaseLock();
      return { events, ended: false };
    }
  }
}

const data = (events: SseEvent[]) => events.filter((e) => e.data).map((e) => JSON.parse(e.data));

describe('Streamable HTTP front', () => {
  let server: Server;
  let front: StreamableHttpFront;
  let url: string;
  const clients: ScriptedClient[] = [];
  // this front's 2025 side is under test: nothing here claims the modern era
  const NO_MODERN = { claims: () => false } as unknown as ModernHttpFront;
  const fleet = {
    openSession(channel: FrontChannel): ClientSession {
      const client = new ScriptedClient(channel);
      clients.push(client);
      return client as unknown as ClientSession;
    },
  };

  beforeAll(async () => {
    front = new StreamableHttpFront(fleet, NO_MODERN, { maxBodyBytes: 65536, sessionIdleTimeoutMs: 60_000 }, pino({ level: 'silent' }), () => true);
    server = createServer((req, res) => void front.handle(req, res, ANONYMOUS, 'test-request').catch((err) => sendError(res, toFleetError(err))));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`;
  });

  afterAll(async () => {
    await front.closeAll();
    expect(front.sessionCount).toBe(0);
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  const post = (body: unknown, headers: Record<string, string> = {}, signal?: AbortSignal) =>
    fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers },
      body: typeof body === 'string' ? body : JSON.stringify(body),
      signal,
    });

  async function openSession(): Promise<{ id: string; headers: Record<string, string>; client: ScriptedClient }> {
    const res = await post({ jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: '2025-11-25' } });
    expect(res.headers.get('content-type')).toBe('application/json');
    expect(await res.json()).toEqual({ jsonrpc: '2.0', id: 0, result: { protocolVersion: '2025-11-25' } });
    const id = res.headers.get('mcp-session-id')!;
    return { id, headers: { 'mcp-session-id': id, 'mcp-protocol-version': '2025-11-25' }, client: clients.at(-1)! };
  }

  it('answers with a JSON body when the response is ready before anything else, and keeps nothing per call', async () => {
    const s = await openSession();
    for (let i = 0; i < 50; i++) {
      const res = await post({ jsonrpc: '2.0', id: i + 1, method: 'echo', params: { i } }, s.headers);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('application/json');
      expect(await res.json()).toEqual({ jsonrpc: '2.0', id: i + 1, result: { echo: { i } } });
    }
    expect(front.session(s.id)!.held).toEqual({ exchanges: 0, streams: 0, events: 0 });
  });

  it('switches a POST to SSE when a related notification must go first: priming event, progress, then the response', async () => {
    const s = await openSession();
    const res = await post({ jsonrpc: '2.0', id: 7, method: 'progress' }, s.headers);
    expect(res.headers.get('content-type')).toBe('text/event-stream');
    expect(res.headers.get('mcp-session-id')).toBe(s.id);
    const { events, ended } = await readEvents(res);
    expect(ended).toBe(true);
    expect(events[0]).toEqual({ id: expect.any(String), retry: String(RECONNECT_AFTER_MS), data: '' });
    expect(events.slice(1).every((e) => e.event === 'message' && e.id)).toBe(true);
    expect(data(events)).toEqual([
      { jsonrpc: '2.0', method: 'notifications/progress', params: { progressToken: 7, progress: 1 } },
      { jsonrpc: '2.0', method: 'notifications/progress', params: { progressToken: 7, progress: 2 } },
      { jsonrpc: '2.0', id: 7, result: { done: true } },
    ]);
    expect(front.session(s.id)!.held.exchanges).toBe(0);
  });

  it('answers a batch with a JSON array, and a POST of notifications only with 202', async () => {
    const s = await openSession();
    const batch = await post(
      [
        { jsonrpc: '2.0', id: 'a', method: 'echo' },
        { jsonrpc: '2.0', method: 'notifications/initialized' },
        { jsonrpc: '2.0', id: 'b', method: 'echo' },
      ],
      s.headers,
    );
    const answers = (await batch.json()) as { id: string }[];
    expect(answers.map((a) => a.id).sort()).toEqual(['a', 'b']);
    const accepted = await post({ jsonrpc: '2.0', method: 'notifications/initialized' }, s.headers);
    expect(accepted.status).toBe(202);
    expect(await accepted.text()).toBe('');
    expect(s.client.received.filter((m) => !isRequest(m))).toHaveLength(2);
  });

  it('streams from the start for a client whose Accept prefers text/event-stream', async () => {
    const s = await openSession();
    const res = await post({ jsonrpc: '2.0', id: 1, method: 'echo' }, { ...s.headers, accept: 'text/event-stream, application/json' });
    expect(res.headers.get('content-type')).toBe('text/event-stream');
    const { events } = await readEvents(res);
    expect(events[0].data).toBe('');
    expect(data(events)).toEqual([{ jsonrpc: '2.0', id: 1, result: { echo: {} } }]);
  });

  it('sends messages related to no request on the one GET stream, and replays what a reconnecting client missed', async () => {
    const s = await openSession();
    const get = (headers: Record<string, string> = {}, signal?: AbortSignal) =>
      fetch(url, { headers: { accept: 'text/event-stream', ...s.headers, ...headers }, signal });
    const first = new AbortController();
    const stream = await get({}, first.signal);
    expect(stream.headers.get('content-type')).toBe('text/event-stream');
    expect((await get()).status).toBe(409);

    const announced = await post({ jsonrpc: '2.0', id: 1, method: 'announce' }, s.headers);
    expect(announced.headers.get('content-type')).toBe('application/json');
    const seen = await readEvents(stream, (events) => events.some((e) => e.data));
    expect(data(seen.events)).toEqual([{ jsonrpc: '2.0', method: 'notifications/tools/list_changed' }]);
    first.abort();

    await post({ jsonrpc: '2.0', id: 2, method: 'announce' }, s.headers); // while no GET stream is open
    const resumed = await get({ 'last-event-id': seen.events.at(-1)!.id! });
    const replay = await readEvents(resumed, (events) => events.some((e) => e.data));
    expect(replay.events).toHaveLength(1);
    expect(replay.events[0].id).not.toBe(seen.events.at(-1)!.id);
    expect((await get()).status).toBe(409); // the resumed stream is the session's GET stream now
    expect((await get({ 'last-event-id': 'nonsense' })).status).toBe(400);
  });

  it('keeps a POST stream whose connection dropped, and delivers the rest of it on a GET with Last-Event-ID', async () => {
    const s = await openSession();
    const dropped = new AbortController();
    const res = await post({ jsonrpc: '2.0', id: 42, method: 'hold' }, s.headers, dropped.signal);
    expect(res.headers.get('content-type')).toBe('text/event-stream');
    const before = await readEvents(res, (events) => events.some((e) => e.data));
    dropped.abort();
    await waitFor(() => front.session(s.id)!.openRequests === 0, 'the front to see the connection drop');

    await s.client.progress(42, 2); // the call goes on while the client is away
    const resume = () => fetch(url, { headers: { accept: 'text/event-stream', ...s.headers, 'last-event-id': before.events.at(-1)!.id! } });
    const resumed = await resume();
    const missed = await readEvents(resumed, (events) => events.length === 1);
    expect(data(missed.events)).toEqual([{ jsonrpc: '2.0', method: 'notifications/progress', params: { progressToken: 42, progress: 2 } }]);
    await s.client.reply(42, { released: true });
    const rest = await readEvents(resumed);
    expect([data(rest.events), rest.ended]).toEqual([[{ jsonrpc: '2.0', id: 42, result: { released: true } }], true]);
    expect(front.session(s.id)!.held.exchanges).toBe(0);

    // a client that lost the resumed stream too gets the whole rest again, and the stream ends
    const again = await readEvents(await resume());
    expect([data(again.events).length, again.ended]).toEqual([2, true]);
  });

  it('forgets a JSON POST whose client left before its answer', async () => {
    const s = await openSession();
    const left = new AbortController();
    const pending = post({ jsonrpc: '2.0', id: 5, method: 'hold-quietly' }, s.headers, left.signal).catch((err: Error) => err);
    await waitFor(() => s.client.held.has(5), 'the request to reach the session');
    expect(front.session(s.id)!.held.exchanges).toBe(1);
    left.abort();
    await pending;
    await waitFor(() => front.session(s.id)!.openRequests === 0, 'the front to see the connection close');
    expect(front.session(s.id)!.held.exchanges).toBe(0);
    await expect(s.client.reply(5, {})).rejects.toThrow('no open POST for request 5');
  });

  it('refuses what the spec refuses, with the SDK transport status codes', async () => {
    const s = await openSession();
    const ping = { jsonrpc: '2.0', id: 1, method: 'ping' };
    const put = await fetch(url, { method: 'PUT', headers: s.headers });
    expect([put.status, put.headers.get('allow')]).toEqual([405, 'GET, POST, DELETE']);
    expect((await post(ping, { ...s.headers, accept: 'application/json' })).status).toBe(406);
    expect((await post(ping, { ...s.headers, 'content-type': 'text/plain' })).status).toBe(415);
    expect((await fetch(url, { headers: { ...s.headers, accept: 'application/json' } })).status).toBe(406);
    expect((await post(ping)).status).toBe(400);
    expect((await post(ping, { 'mcp-session-id': 'unknown' })).status).toBe(404);
    expect((await post(ping, { ...s.headers, 'mcp-protocol-version': '1999-01-01' })).status).toBe(400);
    expect((await post({ ...ping, method: 'initialize' }, s.headers)).status).toBe(400);
    expect(
      (
        await post(
          Array.from({ length: 101 }, (_, i) => ({ ...ping, id: i })),
          s.headers,
        )
      ).status,
    ).toBe(400);
    expect((await post(ping, { 'mcp-session-id': s.id })).status).toBe(200); // no version header: 2025-03-26
  });

  it('ends a session on DELETE; its open streams end and its id is then unknown', async () => {
    const s = await openSession();
    const stream = await fetch(url, { headers: { accept: 'text/event-stream', ...s.headers } });
    const held = post({ jsonrpc: '2.0', id: 9, method: 'hold-quietly' }, s.headers);
    await waitFor(() => s.client.held.has(9), 'the request to reach the session');
    const deleted = await fetch(url, { method: 'DELETE', headers: s.headers });
    expect(deleted.status).toBe(200);
    expect((await readEvents(stream)).ended).toBe(true);
    expect((await readEvents(await held)).ended).toBe(true);
    expect(s.client.closed).toBe(true);
    expect((await post({ jsonrpc: '2.0', id: 1, method: 'ping' }, s.headers)).status).toBe(404);
  });
});
