/**
 * Protocol edges found by fuzzing the gateway from outside: the lifecycle order with per-session
 * servers starting during initialize, method names that an object lookup would mistake for its own
 * properties, request ids reused while in flight or not representable, a refused initialize, and
 * HTTP requests node:http cannot parse. Each gets a clear answer and leaves the gateway serving.
 */
import { connect } from 'node:net';
import { newMarker, startTestGateway, type TestGateway } from '../helpers/gateway';
import { waitForNoProcesses } from '../helpers/processes';
import { postRaw, rawSession } from '../helpers/raw-http';
import { INITIALIZE, ORDERED_FRONTS, openRawPeer, type RawPeer } from '../helpers/raw-peers';
import { scripted, sleepsStarted } from '../helpers/scripted';
import { waitFor } from '../helpers/wait';

const PROTOTYPE_NAMES = ['constructor', 'toString', 'valueOf', '__proto__', 'hasOwnProperty'];

let gw: TestGateway;
const marker = newMarker();

beforeAll(async () => {
  gw = await startTestGateway(
    {
      servers: {
        s: scripted(marker, ['--tools', 'echo,sleep']),
        // a per-session server starts its own upstream during each client's initialize
        own: scripted(marker, ['--tools', 'echo', '--name', 'own'], { mode: 'per-session' }),
      },
    },
    marker,
  );
});

afterAll(async () => {
  await gw?.stop();
  expect(await waitForNoProcesses(marker)).toEqual([]);
});

describe.each(ORDERED_FRONTS)('over %s', (front) => {
  let peer: RawPeer;

  beforeAll(async () => {
    peer = await openRawPeer(gw, front);
    await peer.send(INITIALIZE);
    await peer.next((m) => m.id === 'init', 'the initialize response');
    await peer.send({ jsonrpc: '2.0', method: 'notifications/initialized' });
  });

  afterAll(async () => {
    await peer?.close();
  });

  it('answers initialize before any notification, though a per-session server connected meanwhile', async () => {
    expect(peer.received[0]).toMatchObject({ id: 'init', result: { serverInfo: { name: 'mcp-fleet-gateway' } } });
    // the per-session server's tools are there at once: initialize waited for its first connection
    await peer.send({ jsonrpc: '2.0', id: 'list', method: 'tools/list' });
    const list = await peer.next((m) => m.id === 'list', 'tools/list');
    expect(list.result.tools.map((t: { name: string }) => t.name)).toEqual(['s__echo', 's__sleep', 'own__echo']);
  });

  it.each(PROTOTYPE_NAMES)('answers the method %s as unknown (-32601)', async (method) => {
    const id = `m-${method}`;
    await peer.send({ jsonrpc: '2.0', id, method });
    expect(await peer.next((m) => m.id === id, `the answer to ${method}`)).toEqual({
      jsonrpc: '2.0',
      id,
      error: { code: -32601, message: `Method not found: ${method}`, data: { method, fleetCode: 'METHOD_NOT_FOUND' } },
    });
  });

  it('refuses a second request under an id still in flight, and still answers the first', async () => {
    await peer.send({ jsonrpc: '2.0', id: 7, method: 'tools/call', params: { name: 's__sleep', arguments: { ms: 1500 } } });
    // the stream is ordered: the gateway holds the first request in flight when the second arrives
    await peer.send({ jsonrpc: '2.0', id: 7, method: 'tools/call', params: { name: 's__echo', arguments: {} } });
    const refusal = await peer.next((m) => m.id === 7 && m.error, 'the refusal of the reused id');
    expect(refusal.error).toMatchObject({ code: -32600, message: expect.stringContaining('id 7 belongs to a request still in flight') });
    const first = await peer.next((m) => m.id === 7 && m.result, 'the answer to the first request');
    expect(first.result.content[0].text).toBe('slept 1500');
    expect(peer.received.filter((m) => m.id === 7)).toHaveLength(2);
  });

  it('refuses a request whose id is not a finite number (1e400) as invalid, with id null', async () => {
    const before = peer.received.length;
    await peer.send('{"jsonrpc":"2.0","id":1e400,"method":"ping"}');
    await peer.send({ jsonrpc: '2.0', id: 'after', method: 'ping' });
    await peer.next((m) => m.id === 'after', 'the ping after it');
    const answers = peer.received.slice(before);
    expect(answers[0]).toMatchObject({ jsonrpc: '2.0', id: null, error: { code: -32600 } });
    expect(answers).toHaveLength(2);
  });
});

describe('over Streamable HTTP', () => {
  it.each(PROTOTYPE_NAMES)('answers the method %s as unknown (-32601)', async (method) => {
    const session = await rawSession(`${gw.url}/mcp`);
    try {
      expect((await session.call(method)).error).toMatchObject({ code: -32601, message: `Method not found: ${method}` });
    } finally {
      await session.close();
    }
  });

  it('refuses a second request under an id still in flight on another POST, and still answers the first', async () => {
    const session = await rawSession(`${gw.url}/mcp`);
    try {
      const started = sleepsStarted(gw.logs, 's');
      const body = (name: string, args: Record<string, unknown>) =>
        JSON.stringify({ jsonrpc: '2.0', id: 7, method: 'tools/call', params: { name, arguments: args } });
      const first = postRaw(`${gw.url}/mcp`, body('s__sleep', { ms: 1500 }), session.headers);
      await waitFor(() => sleepsStarted(gw.logs, 's') === started + 1, 'the first call to run upstream');
      const second = await postRaw(`${gw.url}/mcp`, body('s__echo', {}), session.headers);
      expect(second.messages).toEqual([
        {
          jsonrpc: '2.0',
          id: 7,
          error: expect.objectContaining({ code: -32600, message: expect.stringContaining('id 7 belongs to a request still in flight') }),
        },
      ]);
      expect((await first).messages).toEqual([{ jsonrpc: '2.0', id: 7, result: expect.objectContaining({ content: [{ type: 'text', text: 'slept 1500' }] }) }]);
    } finally {
      await session.close();
    }
  });

  it('keeps no session for an initialize it refused', async () => {
    await waitFor(() => gw.sessions.count === 0, 'no session open');
    const refused = await postRaw(`${gw.url}/mcp`, JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { capabilities: {} } }));
    expect(refused.messages).toEqual([
      { jsonrpc: '2.0', id: 1, error: expect.objectContaining({ code: -32602, message: expect.stringContaining('protocolVersion') }) },
    ]);
    expect(refused.headers.get('mcp-session-id')).toBeNull();
    await waitFor(() => gw.sessions.count === 0, 'the refused session to be gone');
    expect(gw.logs.filter((l) => l.msg === 'client session closed').length).toBeGreaterThan(0);
  });

  it('answers a request with headers over the limit with 431 and a bad request line with 400, and goes on serving', async () => {
    const port = Number(new URL(gw.url).port);
    const status = (raw: string) =>
      new Promise<string>((resolve, reject) => {
        const socket = connect(port, '127.0.0.1', () => socket.write(raw));
        let reply = '';
        socket.on('data', (d) => (reply += d.toString()));
        socket.on('end', () => resolve(reply.split('\r\n')[0]));
        socket.on('error', reject);
      });
    expect(await status(`POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ${'x'.repeat(20_000)}\r\n\r\n`)).toBe('HTTP/1.1 431 Request Header Fields Too Large');
    expect(await status('NOT A REQUEST LINE\r\n\r\n')).toBe('HTTP/1.1 400 Bad Request');
    const session = await rawSession(`${gw.url}/mcp`);
    expect((await session.call('tools/call', { name: 's__echo', arguments: {} })).result.content[0].text).toBe('scripted:echo');
    await session.close();
  });
});
