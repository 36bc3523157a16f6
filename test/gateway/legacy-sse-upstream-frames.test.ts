/**
 * A legacy SSE upstream's messages are read by the gateway's one frame parser, as every other
 * transport's are: fields MCP does not name pass through at every level, the top level included.
 * The upstream is a raw node:http legacy SSE server (GET /sse, POST /messages) that puts an unknown
 * top-level field on every message it sends, which a strict schema would refuse.
 */
import { once } from 'node:events';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { newMarker, startTestGateway, type TestGateway } from '../helpers/gateway';
import { rawSession } from '../helpers/raw-http';
import { waitFor } from '../helpers/wait';

type Message = { id?: string | number; method?: string; params?: { protocolVersion?: string } };

/** What the raw server answers; undefined for a notification. */
function answerOf(m: Message): Record<string, unknown> | undefined {
  if (m.id === undefined) return undefined;
  const result = (r: unknown) => ({ jsonrpc: '2.0', id: m.id, result: r });
  switch (m.method) {
    case 'initialize':
      return result({ protocolVersion: m.params?.protocolVersion, capabilities: { tools: {} }, serverInfo: { name: 'raw-sse', version: '1.0.0' } });
    case 'tools/list':
      return result({ tools: [{ name: 'echo', inputSchema: { type: 'object' } }] });
    case 'tools/call':
      return result({ content: [{ type: 'text', text: 'raw:echo' }] });
    case 'ping':
      return result({});
    default:
      return { jsonrpc: '2.0', id: m.id, error: { code: -32601, message: `Method not found: ${m.method}` } };
  }
}

async function rawSseServer() {
  const streams = new Set<ServerResponse>();
  const server = createServer((req, res) => {
    if (req.method === 'GET' && req.url === '/sse') {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      res.write('event: endpoint\ndata: /messages?sessionId=only\n\n');
      streams.add(res);
      res.on('close', () => streams.delete(res));
      return;
    }
    if (req.method === 'POST' && req.url?.startsWith('/messages')) {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (c: string) => (body += c));
      req.on('end', () => {
        res.writeHead(202).end();
        const answer = answerOf(JSON.parse(body) as Message);
        const event = answer && `event: message\ndata: ${JSON.stringify({ ...answer, 'x-vendor': { kept: true } })}\n\n`;
        if (event) for (const s of streams) s.write(event);
      });
      return;
    }
    res.writeHead(404).end();
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/sse`,
    close: async () => {
      for (const s of streams) s.destroy();
      server.close();
      await once(server, 'close');
    },
  };
}

describe('a legacy SSE upstream whose messages carry unknown top-level fields', () => {
  const marker = newMarker();
  let upstream: Awaited<ReturnType<typeof rawSseServer>>;
  let gw: TestGateway;

  beforeAll(async () => {
    upstream = await rawSseServer();
    gw = await startTestGateway({ servers: { raw: { url: upstream.url, transport: 'sse', requestTimeoutMs: 5000, healthCheck: { intervalMs: 0 } } } }, marker);
  });

  afterAll(async () => {
    await gw?.stop();
    await upstream?.close();
  });

  it('connects, lists and calls, and the unknown field reaches the client', async () => {
    await waitFor(() => gw.registry.groupFor(undefined, 'raw')?.lead?.ready, 'the raw SSE server to connect', 10_000);
    const session = await rawSession(`${gw.url}/mcp`);
    try {
      const list = await session.call('tools/list');
      expect(list.result.tools.map((t: { name: string }) => t.name)).toEqual(['raw__echo']);
      const call = await session.call('tools/call', { name: 'raw__echo', arguments: {} });
      expect(call.result.content).toEqual([{ type: 'text', text: 'raw:echo' }]);
      expect(call['x-vendor']).toEqual({ kept: true });
    } finally {
      await session.close();
    }
  });
});
