/**
 * Clients that do not read, trickle or vanish (issue 10, "Hostile input"). A client that stays
 * `limits.sendQueueBytes` behind is dropped (WebSocket close 1008 with a reason, an SSE stream
 * ended) while what the gateway held for it stays under the bound, and another client is served
 * all along; a WebSocket that does not answer pings is cut; headers and bodies that do not arrive
 * in time get 408 and the connection closes.
 */
import { connect, type Socket } from 'node:net';
import { request, type IncomingMessage } from 'node:http';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import WebSocket from 'ws';
import { connectClient, disconnect, newMarker, startTestGateway, type TestGateway } from '../helpers/gateway';
import { rawSession } from '../helpers/raw-http';
import { INITIALIZE } from '../helpers/raw-peers';
import { scripted } from '../helpers/scripted';
import { waitForNoProcesses } from '../helpers/processes';
import { waitFor } from '../helpers/wait';

const SEND_QUEUE = 1024 * 1024;
/** What the finding measured: 40,000 notifications of 2 KB towards a client that does not read. */
const FLOOD = { name: 's__flood', arguments: { count: 40_000, bytes: 2000 } };

describe('clients that do not read', () => {
  const marker = newMarker();
  let gw: TestGateway;
  let other: Client;

  beforeAll(async () => {
    gw = await startTestGateway({ limits: { sendQueueBytes: SEND_QUEUE }, servers: { s: scripted(marker, ['--tools', 'echo,flood']) } }, marker);
    other = await connectClient(gw, 'websocket');
  });

  afterEach(async () => {
    expect(await other.callTool({ name: 's__echo', arguments: {} })).toMatchObject({ content: [{ text: 'scripted:echo' }] });
  });

  afterAll(async () => {
    await disconnect(other);
    await gw?.stop();
    expect(await waitForNoProcesses(marker)).toEqual([]);
  });

  /** The log line of a dropped client, once it came, with how much was held for it then. */
  const dropped = (what: string, from = 0) =>
    waitFor(() => gw.logs.slice(from).find((l) => String(l.msg).startsWith(`client does not read its ${what}`)), `a dropped ${what}`);

  it('a WebSocket that stops reading is closed with 1008 and a reason; the other client is served meanwhile', async () => {
    const ws = new WebSocket(`${gw.url.replace('http', 'ws')}/ws`, 'mcp');
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
    const closed = new Promise<[number, string]>((resolve) => ws.once('close', (code, reason) => resolve([code, reason.toString()])));
    const initialized = new Promise((resolve) => ws.once('message', resolve));
    ws.send(JSON.stringify(INITIALIZE));
    await initialized;
    ws.send(JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }));
    ws.send(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { ...FLOOD, _meta: { progressToken: 'p' } } }));
    (ws as unknown as { _socket: Socket })._socket.pause();
    const line = await dropped('WebSocket');
    expect(line.bufferedBytes).toBeLessThanOrEqual(SEND_QUEUE);
    expect(await other.callTool({ name: 's__echo', arguments: {} })).toMatchObject({ content: [{ text: 'scripted:echo' }] });
    (ws as unknown as { _socket: Socket })._socket.resume();
    const [code, reason] = await closed;
    // the close frame waits behind what the client did not read; read in time, it says why
    if (code !== 1006) expect([code, reason]).toEqual([1008, 'send queue full: the client does not read its messages']);
  });

  it('a Streamable HTTP event stream that is not read is ended', async () => {
    const session = await rawSession(`${gw.url}/mcp`);
    const body = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { ...FLOOD, _meta: { progressToken: 'p' } } });
    const req = request(`${gw.url}/mcp`, {
      method: 'POST',
      headers: { ...session.headers, 'content-type': 'application/json', accept: 'text/event-stream, application/json' },
    });
    const res = await new Promise<IncomingMessage>((resolve) => req.once('response', resolve).end(body));
    res.pause();
    const ended = new Promise((resolve) => res.once('close', resolve));
    const line = await dropped('event stream');
    expect(line.queuedBytes).toBeLessThanOrEqual(SEND_QUEUE);
    res.resume();
    await ended;
    await session.close();
  });

  it('a legacy SSE stream that is not read is ended, and its session with it', async () => {
    const sessionsBefore = gw.sessions.count;
    const from = gw.logs.length;
    const req = request(`${gw.url}/sse`, { headers: { accept: 'text/event-stream' } });
    const res = await new Promise<IncomingMessage>((resolve) => req.once('response', resolve).end());
    res.setEncoding('utf8');
    let text = '';
    res.on('data', (c: string) => (text += c));
    const endpoint = await waitFor(() => /event: endpoint\ndata: (.*)\n/.exec(text)?.[1], 'the endpoint event');
    res.pause();
    const ended = new Promise((resolve) => res.once('close', resolve));
    const post = (m: unknown) => fetch(new URL(endpoint, gw.url), { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(m) });
    await post(INITIALIZE);
    res.resume();
    await waitFor(() => text.includes('"id":"init"'), 'the answer to initialize');
    res.pause();
    await post({ jsonrpc: '2.0', method: 'notifications/initialized' });
    await post({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { ...FLOOD, _meta: { progressToken: 'p' } } });
    const line = await dropped('SSE stream', from);
    // the SDK writes the stream: the bound is checked before each write, so one message (2 KB here) may pass it before the drop
    expect(line.queuedBytes).toBeLessThanOrEqual(SEND_QUEUE + 4096);
    res.resume();
    await ended;
    await waitFor(() => gw.sessions.count === sessionsBefore, 'the dropped session to close');
  });
});

describe('slow-loris requests and vanished peers', () => {
  const marker = newMarker();
  let gw: TestGateway;

  beforeAll(async () => {
    gw = await startTestGateway(
      { limits: { headersTimeoutMs: 500, requestTimeoutMs: 1000, wsPingIntervalMs: 300 }, servers: { s: scripted(marker, ['--tools', 'echo']) } },
      marker,
    );
  });

  afterAll(async () => {
    await gw?.stop();
    expect(await waitForNoProcesses(marker)).toEqual([]);
  });

  /** Opens a raw connection, writes `start`, then `drip` every 100 ms; resolves with what the server sent once it closed the connection. */
  function slowRequest(start: string, drip?: string): Promise<string> {
    const { port } = new URL(gw.url);
    return new Promise((resolve, reject) => {
      const socket = connect(Number(port), '127.0.0.1', () => socket.write(start));
      let got = '';
      const timer = drip === undefined ? undefined : setInterval(() => socket.writable && socket.write(drip), 100);
      socket.setEncoding('utf8');
      socket.on('data', (c: string) => (got += c));
      socket.on('error', reject);
      socket.once('close', () => {
        clearInterval(timer);
        resolve(got);
      });
    });
  }

  const head = (contentLength: number) =>
    `POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\nContent-Length: ${contentLength}\r\n\r\n`;

  it('headers that never end get 408 and the connection closes', async () => {
    expect(await slowRequest('GET /health/liveness HTTP/1.1\r\nHost: 127.0.0.1\r\n', 'X-Slow: 1\r\n')).toMatch(/^HTTP\/1\.1 408 /);
  });

  it('a body shorter than its Content-Length gets 408 and the connection closes', async () => {
    expect(await slowRequest(`${head(1000)}{"jsonrpc":"2.0",`)).toMatch(/^HTTP\/1\.1 408 /);
  });

  it('a trickled body gets 408 and the connection closes', async () => {
    expect(await slowRequest(`${head(100_000)}{"jsonrpc":"2.0","x":"`, 'x')).toMatch(/^HTTP\/1\.1 408 /);
  });

  it('a WebSocket that does not answer pings is cut', async () => {
    const ws = new WebSocket(`${gw.url.replace('http', 'ws')}/ws`, 'mcp', { autoPong: false });
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
    const code = await new Promise<number>((resolve) => ws.once('close', resolve));
    expect(code).toBe(1006); // terminated: no close frame for a peer that is not there
    expect(gw.logs.some((l) => l.msg === 'WebSocket client did not answer a ping; connection cut')).toBe(true);
  });
});
