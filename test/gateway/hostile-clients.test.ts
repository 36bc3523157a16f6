/**
 * Hostile clients cannot hurt the gateway or anyone else (issue 10, "Hostile input"): JSON nested
 * too deep is refused at every front before it reaches a server, and the shared server stays up
 * for the other clients; a message that cannot be written does not restart the server it was for.
 */
import { connectClient, disconnect, newMarker, startTestGateway, type TestGateway } from '../helpers/gateway';
import { postRaw, rawSession } from '../helpers/raw-http';
import { modernRequest, postModern } from '../helpers/raw-modern';
import { INITIALIZE, openRawPeer, ORDERED_FRONTS, type RawPeer } from '../helpers/raw-peers';
import { scripted, sleepsStarted } from '../helpers/scripted';
import { waitFor } from '../helpers/wait';
import { waitForNoProcesses } from '../helpers/processes';

/** JSON text of arrays nested `depth` deep (JSON.stringify could not write it). */
const nested = (depth: number) => '['.repeat(depth) + ']'.repeat(depth);
const deepCall = (id: number | string, depth: number) =>
  `{"jsonrpc":"2.0","id":${JSON.stringify(id)},"method":"tools/call","params":{"name":"s__echo","arguments":{"x":${nested(depth)}}}}`;

/** How often the shared server `s` was connected: a restart shows as a second connection. */
const connections = (gw: TestGateway) => gw.logs.filter((l) => l.server === 's' && l.msg === 'server connected').length;

describe('JSON nested too deep, at every front', () => {
  const marker = newMarker();
  let gw: TestGateway;

  beforeAll(async () => {
    gw = await startTestGateway({ limits: { maxJsonDepth: 64 }, servers: { s: scripted(marker, ['--tools', 'echo']) } }, marker);
  });

  afterAll(async () => {
    await gw?.stop();
    expect(await waitForNoProcesses(marker)).toEqual([]);
  });

  afterEach(async () => {
    // the shared server was never restarted, and another client is served as before
    expect(connections(gw)).toBe(1);
    const client = await connectClient(gw, 'streamable-http');
    expect(await client.callTool({ name: 's__echo', arguments: {} })).toMatchObject({ content: [{ text: 'scripted:echo' }] });
    await disconnect(client);
  });

  it('Streamable HTTP (2025): 400 and -32600 to the request id, naming the limit', async () => {
    const session = await rawSession(`${gw.url}/mcp`);
    const r = await postRaw(`${gw.url}/mcp`, deepCall(5, 10_000), session.headers);
    expect(r.status).toBe(400);
    expect(r.messages).toEqual([
      { jsonrpc: '2.0', id: 5, error: expect.objectContaining({ code: -32600, message: expect.stringContaining('nests deeper than the limit of 64 levels') }) },
    ]);
    // at the limit it passes (the envelope is depth 1, arguments 3, x 4: 60 more arrays make 64)
    expect((await session.call('tools/call', { name: 's__echo', arguments: { x: JSON.parse(nested(60)) } })).result).toBeDefined();
    await session.close();
  });

  it('Streamable HTTP (2026-07-28): 400 and -32600 before any other check', async () => {
    const request = modernRequest(7, 'tools/call', { name: 's__echo', arguments: {} });
    const text = JSON.stringify(request).replace('"arguments":{}', `"arguments":{"x":${nested(10_000)}}`);
    const r = await postRaw(`${gw.url}/mcp`, text, { 'mcp-protocol-version': '2026-07-28', 'mcp-method': 'tools/call', 'mcp-name': 's__echo' });
    expect(r.status).toBe(400);
    expect(r.messages[0]).toMatchObject({ id: 7, error: { code: -32600 } });
    expect((await postModern(`${gw.url}/mcp`, request)).messages[0].result.content[0].text).toBe('scripted:echo');
  });

  it.each(ORDERED_FRONTS)('%s: a JSON-RPC error to the request id, and the session goes on', async (front) => {
    const peer: RawPeer = await openRawPeer(gw, front);
    await peer.send(INITIALIZE);
    await peer.next((m) => m.id === 'init', 'the answer to initialize');
    await peer.send({ jsonrpc: '2.0', method: 'notifications/initialized' });
    await peer.send(deepCall('deep', 10_000));
    expect(await peer.next((m) => m.id === 'deep', 'the refusal')).toMatchObject({ error: { code: -32600, message: expect.stringContaining('64 levels') } });
    await peer.send(deepCall('long', 3).replace('"x":[[[]]]', `"x":"${'y'.repeat(100)}"`));
    expect(await peer.next((m) => m.id === 'long', 'the answer')).toMatchObject({ result: { content: [{ text: 'scripted:echo' }] } });
    await peer.close();
  });
});

describe("legacy SSE POSTs, read by the gateway's own parser", () => {
  const marker = newMarker();
  let gw: TestGateway;

  beforeAll(async () => {
    gw = await startTestGateway({ servers: { s: scripted(marker, ['--tools', 'echo']) } }, marker);
  });

  afterAll(async () => {
    await gw?.stop();
    expect(await waitForNoProcesses(marker)).toEqual([]);
  });

  it('answers a message with fields it does not know on the stream, and a wrong Content-Type with 415 and a JSON-RPC error', async () => {
    const peer = await openRawPeer(gw, 'sse');
    // the SDK's schemas refused this one with a plain-text 400; MCP lets a message carry more fields
    await peer.send({ ...INITIALIZE, extra: { kept: true } });
    expect(await peer.next((m) => m.id === 'init', 'the answer to initialize')).toMatchObject({ result: { serverInfo: { name: 'mcp-fleet-gateway' } } });
    const stream = await fetch(`${gw.url}/sse`, { headers: { accept: 'text/event-stream' } });
    const reader = stream.body!.getReader();
    const first = new TextDecoder().decode((await reader.read()).value);
    const endpoint = /data: (.*)\n/.exec(first)![1];
    const r = await fetch(new URL(endpoint, gw.url), { method: 'POST', headers: { 'content-type': 'text/plain' }, body: JSON.stringify(INITIALIZE) });
    expect(r.status).toBe(415);
    expect(await r.json()).toMatchObject({ jsonrpc: '2.0', id: null, error: { message: expect.stringContaining('Content-Type must be application/json') } });
    await reader.cancel();
    await peer.close();
  });
});

describe('an id reused while its request is in flight', () => {
  const marker = newMarker();
  let gw: TestGateway;

  beforeAll(async () => {
    gw = await startTestGateway({ servers: { s: scripted(marker, ['--tools', 'echo,sleep']) } }, marker);
  });

  afterAll(async () => {
    await gw?.stop();
    expect(await waitForNoProcesses(marker)).toEqual([]);
  });

  it('is refused on its own POST (400, to that id), and the first request still gets its answer', async () => {
    const session = await rawSession(`${gw.url}/mcp`);
    const call = (name: string) => JSON.stringify({ jsonrpc: '2.0', id: 'same', method: 'tools/call', params: { name, arguments: { ms: 500 } } });
    const first = postRaw(`${gw.url}/mcp`, call('s__sleep'), session.headers);
    await waitFor(() => sleepsStarted(gw.logs, 's') === 1, 'the first call to run upstream');
    const second = await postRaw(`${gw.url}/mcp`, call('s__echo'), session.headers);
    expect(second.status).toBe(400);
    expect(second.messages).toEqual([
      { jsonrpc: '2.0', id: 'same', error: expect.objectContaining({ code: -32600, message: expect.stringContaining('still in flight') }) },
    ]);
    expect((await first).messages).toEqual([
      { jsonrpc: '2.0', id: 'same', result: expect.objectContaining({ content: [{ type: 'text', text: 'slept 500' }] }) },
    ]);
    await session.close();
  });
});

describe('a message JSON cannot write', () => {
  const marker = newMarker();
  let gw: TestGateway;

  beforeAll(async () => {
    // the door's depth limit off (as good as): the message reaches the relay, which cannot write it to the server
    gw = await startTestGateway({ limits: { maxJsonDepth: 1_000_000 }, servers: { s: scripted(marker, ['--tools', 'echo']) } }, marker);
  });

  afterAll(async () => {
    await gw?.stop();
    expect(await waitForNoProcesses(marker)).toEqual([]);
  });

  it('fails its own request only: the shared server stays up and keeps its tools for everyone', async () => {
    const other = await connectClient(gw, 'websocket');
    const session = await rawSession(`${gw.url}/mcp`);
    const r = await postRaw(`${gw.url}/mcp`, deepCall(9, 10_000), session.headers);
    expect(r.messages[0]).toMatchObject({
      id: 9,
      error: { code: -32602, message: expect.stringContaining('cannot send to server "s"'), data: { fleetCode: 'UNSERIALIZABLE' } },
    });
    expect(await other.callTool({ name: 's__echo', arguments: {} })).toMatchObject({ content: [{ text: 'scripted:echo' }] });
    expect(connections(gw)).toBe(1);
    expect(gw.logs.some((l) => l.msg === 'server unavailable; will retry')).toBe(false);
    await session.close();
    await disconnect(other);
  });
});
