/**
 * The one client connection of the tools around the gateway: against a real gateway, closing ends
 * the session over every network front (a per-session upstream stops with it); a connect that
 * never completes is given up at its deadline or on abort, and its transport closed.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { Socket } from 'node:net';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { newMarker, startTestGateway, type TestGateway } from '../../test/helpers/gateway';
import { processesWithMarker, waitForNoProcesses } from '../../test/helpers/processes';
import { scripted } from '../../test/helpers/scripted';
import { waitFor } from '../../test/helpers/wait';
import { connectGateway, NETWORK_FRONTS } from './connect';

describe.each(NETWORK_FRONTS)('connectGateway over %s', (front) => {
  let gw: TestGateway;
  const marker = newMarker();

  beforeAll(async () => {
    gw = await startTestGateway({ servers: { own: scripted(marker, ['--tools', 'echo'], { mode: 'per-session' }) } }, marker);
  });

  afterAll(async () => {
    await gw.stop();
    expect(await waitForNoProcesses(marker)).toEqual([]);
  });

  it('opens a session and close() ends it, with the per-session upstream', async () => {
    const { client, close } = await connectGateway(gw.url, front, { name: 'connect-test' });
    expect(await client.callTool({ name: 'own__echo', arguments: {} })).toMatchObject({ content: [{ text: 'scripted:echo' }] });
    expect(processesWithMarker(marker).length).toBe(1);
    await close();
    expect(await waitForNoProcesses(marker)).toEqual([]);
  });
});

describe('connectGateway over streamable-http', () => {
  it('ends the session with DELETE: its id is unknown afterwards', async () => {
    const marker = newMarker();
    const gw = await startTestGateway({ servers: { s: scripted(marker, ['--tools', 'echo']) } }, marker);
    try {
      const { client, close } = await connectGateway(gw.url, 'streamable-http');
      const { sessionId, protocolVersion } = client.transport as StreamableHTTPClientTransport;
      await close();
      const res = await fetch(`${gw.url}/mcp`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
          'mcp-session-id': sessionId!,
          'mcp-protocol-version': protocolVersion!,
        },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
      });
      await res.body?.cancel();
      expect(res.status).toBe(404);
    } finally {
      await gw.stop();
    }
  });

  it('closes without an error when the gateway is already gone (the session went with it)', async () => {
    const marker = newMarker();
    const gw = await startTestGateway({ servers: { s: scripted(marker, ['--tools', 'echo']) } }, marker);
    const { close } = await connectGateway(gw.url, 'streamable-http');
    await gw.stop();
    await expect(close()).resolves.toBeUndefined();
  });
});

describe('a connect that never completes', () => {
  let server: Server;
  let base: string;
  /** What the server is holding: SSE requests and WebSocket upgrade sockets, each with whether it closed. */
  const held: { path: string; stream: IncomingMessage | Socket; closed: boolean }[] = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      // an SSE stream that never sends its endpoint event
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.flushHeaders();
      hold(req.url!, req);
    });
    // a WebSocket upgrade that is never answered
    server.on('upgrade', (req: IncomingMessage, socket: Socket) => hold(req.url!, socket));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  });

  afterEach(() => {
    for (const h of held.splice(0)) h.stream.destroy();
  });

  afterAll(async () => {
    await new Promise((r) => server.close(r));
  });

  function hold(path: string, stream: IncomingMessage | Socket): void {
    const entry = { path, stream, closed: false };
    held.push(entry);
    stream.once('close', () => (entry.closed = true));
  }

  it('over sse is given up at its deadline, naming the URL, and its stream closed', async () => {
    const failure = connectGateway(base, 'sse', { timeoutMs: 300 });
    await expect(failure).rejects.toMatchObject({ code: 'UPSTREAM_TIMEOUT', message: `no MCP session with ${base}/sse (sse) within 300 ms` });
    // without the close, the EventSource would hold this stream (and reconnect when it drops)
    await waitFor(() => held.length > 0 && held.every((h) => h.closed), 'the SSE stream to be closed', 10_000);
    expect(held[0].path).toBe('/sse');
  });

  it('over websocket is given up on abort, with the abort reason, and its transport closed', async () => {
    const abort = new AbortController();
    let client: Client | undefined;
    const failure = connectGateway(base, 'websocket', { signal: abort.signal, setup: (c) => (client = c) });
    await waitFor(() => held.length > 0, 'the upgrade request');
    expect(held[0].path).toBe('/ws');
    abort.abort(new Error('the caller gave up'));
    await expect(failure).rejects.toThrow('the caller gave up');
    // Seen from the client: the SDK lets go of a transport once it reports closed. (Node's
    // WebSocket fails a handshake it abandons without destroying the socket, so the server's
    // side would not show it.)
    await waitFor(() => client && client.transport === undefined, 'the client to let go of its closed transport', 10_000);
  });
});
