/**
 * How the upstream Streamable HTTP transport handles streams a server closes or loses, against an
 * in-process server built on the SDK's own server transport (with an event store, so it can
 * resume): polling on a request's stream, the GET stream coming back with Last-Event-ID, giving
 * up on a GET stream that cannot come back, and answering a request whose stream was lost.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server as HttpServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StreamableHTTPServerTransport, type EventStore } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { CallToolRequestSchema, ListToolsRequestSchema, type JSONRPCMessage, type Progress } from '@modelcontextprotocol/sdk/types.js';
import { waitFor } from '../../test/helpers/wait';
import { toSdkTransport } from '../protocol/sdk-transport';
import { StreamableHttpTransport, type StreamableHttpTransportOptions } from './streamable-http-transport';

/** Keeps every event; ids are numbers in order. */
class MemoryEventStore implements EventStore {
  private readonly events: { id: string; stream: string; message: JSONRPCMessage }[] = [];

  async storeEvent(stream: string, message: JSONRPCMessage): Promise<string> {
    const id = String(this.events.length + 1);
    this.events.push({ id, stream, message });
    return id;
  }

  async replayEventsAfter(lastEventId: string, { send }: { send: (id: string, m: JSONRPCMessage) => Promise<void> }): Promise<string> {
    const from = this.events.find((e) => e.id === lastEventId);
    if (!from) throw new Error(`unknown event id ${lastEventId}`);
    for (const e of this.events) if (e.stream === from.stream && Number(e.id) > Number(lastEventId)) await send(e.id, e.message);
    return from.stream;
  }
}

/**
 * A one-session MCP server: each tool call closes its own stream before it reports progress and
 * answers, so only a client that resumes with Last-Event-ID gets them; a call of `drop` starts its
 * stream and loses its connection instead.
 */
async function startServer() {
  const requests: { method: string; headers: IncomingHttpHeaders; res: ServerResponse }[] = [];
  let session: { transport: StreamableHTTPServerTransport; server: Server } | undefined;
  const http: HttpServer = createServer(async (req, res) => {
    requests.push({ method: req.method!, headers: req.headers, res });
    const id = req.headers['mcp-session-id'];
    if (id !== undefined && id !== session?.transport.sessionId) return void res.writeHead(404).end();
    if (id === undefined) session = await open();
    let body: { params?: { name?: string } } | undefined;
    if (req.method === 'POST') {
      let text = '';
      for await (const chunk of req) text += chunk;
      body = JSON.parse(text);
    }
    if (body?.params?.name === 'drop') {
      // the headers and a comment reach the client (the stream has begun), then the connection goes
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(': started\n\n', () => res.socket?.destroy());
      return;
    }
    await session!.transport.handleRequest(req, res, body);
  });
  async function open() {
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: randomUUID, eventStore: new MemoryEventStore(), retryInterval: 20 });
    const server = new Server({ name: 'stream-test', version: '1.0.0' }, { capabilities: { tools: { listChanged: true }, resources: { listChanged: true } } });
    server.setRequestHandler(ListToolsRequestSchema, async () => ({ tools: [] }));
    server.setRequestHandler(CallToolRequestSchema, async (request, extra) => {
      extra.closeSSEStream?.(); // the event store keeps what follows until the client comes back with GET and Last-Event-ID
      await extra.sendNotification({ method: 'notifications/progress', params: { progressToken: request.params._meta!.progressToken!, progress: 1 } });
      return { content: [{ type: 'text', text: 'answered after the stream was closed' }] };
    });
    await server.connect(transport);
    return { transport, server };
  }
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(http.address() as AddressInfo).port}/mcp`,
    requests,
    session: () => session!,
    /** The server transport answered a GET with its stream: notifications it sends now go out live. */
    getStreamOpen: () => requests.some((r) => r.method === 'GET' && r.res.headersSent && !r.res.writableEnded),
    async stop() {
      await session?.server.close();
      http.closeAllConnections();
      await new Promise((r) => http.close(r));
    },
  };
}

type TestServer = Awaited<ReturnType<typeof startServer>>;

async function connect(url: string, options: StreamableHttpTransportOptions = {}) {
  const transport = new StreamableHttpTransport(url, { headers: { authorization: 'Bearer t0ken' }, reconnect: { initialDelayMs: 20 }, ...options });
  const errors: Error[] = [];
  const client = new Client({ name: 'stream-test', version: '1.0.0' });
  client.onerror = (err) => errors.push(err);
  await client.connect(toSdkTransport(transport));
  return { client, transport, errors };
}

describe('upstream Streamable HTTP streams', () => {
  let server: TestServer;
  beforeEach(async () => {
    server = await startServer();
  });
  afterEach(async () => {
    await server.stop();
  });

  it('resumes a request stream the server closed early, with Last-Event-ID, and sends its headers on every request', async () => {
    const { client } = await connect(server.url);
    const progress: Progress[] = [];
    const result = await client.callTool({ name: 'poll', arguments: {} }, undefined, { onprogress: (p) => progress.push(p) });
    expect(result.content).toEqual([{ type: 'text', text: 'answered after the stream was closed' }]);
    expect(progress).toEqual([expect.objectContaining({ progress: 1 })]);
    expect(server.requests.some((r) => r.method === 'GET' && r.headers['last-event-id'] !== undefined)).toBe(true);
    await client.close();
    expect(server.requests.map((r) => r.method)).toContain('DELETE');
    for (const r of server.requests) expect(r.headers.authorization).toBe('Bearer t0ken');
    // After initialize, every request names the session and the negotiated protocol version.
    for (const r of server.requests.slice(1)) expect(r.headers).toMatchObject({ 'mcp-session-id': expect.any(String), 'mcp-protocol-version': '2025-11-25' });
  });

  it('reopens the GET stream the server closed, with Last-Event-ID, and gets what was sent meanwhile', async () => {
    const { client } = await connect(server.url);
    const received: string[] = [];
    client.fallbackNotificationHandler = async (n) => void received.push(n.method);
    await waitFor(server.getStreamOpen, 'the GET stream');
    const { transport, server: mcp } = server.session();
    await mcp.sendToolListChanged(); // its event id is where the client resumes
    await waitFor(() => received.length === 1, 'the first notification');
    transport.closeStandaloneSSEStream();
    await mcp.sendResourceListChanged(); // kept by the event store while no stream is open
    await waitFor(() => received.length === 2, 'the notification sent while the stream was closed');
    expect(received).toEqual(['notifications/tools/list_changed', 'notifications/resources/list_changed']);
    expect(server.requests.filter((r) => r.method === 'GET').at(-1)!.headers['last-event-id']).toBeDefined();
    await client.close();
  });

  it('reports through onerror a GET stream that cannot be reopened', async () => {
    const { client, errors } = await connect(server.url, { reconnect: { initialDelayMs: 10, maxRetries: 2 } });
    await waitFor(() => server.requests.some((r) => r.method === 'GET'), 'the GET stream');
    await server.stop();
    await waitFor(() => errors.some((e) => e.message.includes('cannot reopen')), 'the transport to give up');
    expect(errors.map((e) => e.message)).toContainEqual(
      expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+\/mcp: cannot reopen the GET stream for server notifications \(3 attempts failed\): .*ECONNREFUSED/),
    );
    await client.close();
    server = await startServer(); // for afterEach
  });

  it('answers a request whose stream was lost before any event with an error naming the URL', async () => {
    const { client } = await connect(server.url);
    await expect(client.callTool({ name: 'drop', arguments: {} })).rejects.toThrow(
      /http:\/\/127\.0\.0\.1:\d+\/mcp: no answer to request \d+: the connection was lost/,
    );
    expect(await client.callTool({ name: 'poll', arguments: {} }, undefined, { onprogress: () => {} })).toMatchObject({
      content: [{ text: 'answered after the stream was closed' }],
    });
    await client.close();
  });
});
