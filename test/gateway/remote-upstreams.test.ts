/**
 * Remote upstreams over each client transport the gateway speaks: Streamable HTTP and legacy SSE
 * (server-everything's own HTTP servers) and WebSocket (a second gateway's /ws front). A remote
 * server that goes away fails its calls with its name and comes back when it returns.
 */
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { connectClient, newMarker, startTestGateway, type TestGateway } from '../helpers/gateway';
import { startEverythingHttp, type RemoteServer } from '../helpers/remote-servers';
import { everything } from '../helpers/servers';
import { waitForNoProcesses } from '../helpers/processes';
import { waitFor } from '../helpers/wait';

describe('remote upstreams', () => {
  const marker = newMarker();
  let http: RemoteServer;
  let sse: RemoteServer;
  let inner: TestGateway;
  let outer: TestGateway;
  let client: Client;

  beforeAll(async () => {
    [http, sse] = await Promise.all([startEverythingHttp('streamableHttp', marker), startEverythingHttp('sse', marker)]);
    inner = await startTestGateway({ servers: { local: everything(marker) } }, marker);
    outer = await startTestGateway(
      {
        servers: {
          http: { url: http.url, restart: { initialDelayMs: 100, maxDelayMs: 500 }, healthCheck: { intervalMs: 200, timeoutMs: 1000 } },
          sse: { url: sse.url, transport: 'sse' },
          ws: { url: `${inner.url.replace('http', 'ws')}/ws` },
        },
      },
      marker,
    );
    client = await connectClient(outer, 'streamable-http');
  });

  afterAll(async () => {
    await client?.close();
    await outer?.stop();
    await inner?.stop();
    await Promise.all([http?.stop(), sse?.stop()]);
    expect(await waitForNoProcesses(marker)).toEqual([]);
  });

  it('aggregates servers reached over Streamable HTTP, SSE and WebSocket', async () => {
    const names = (await client.listTools()).tools.map((t) => t.name);
    expect(names).toEqual(expect.arrayContaining(['http__echo', 'sse__echo', 'ws__local__echo']));
    for (const name of ['http__echo', 'sse__echo', 'ws__local__echo']) {
      expect(await client.callTool({ name, arguments: { message: name } })).toEqual({ content: [{ type: 'text', text: `Echo: ${name}` }] });
    }
    const group = outer.registry.groupFor(undefined, 'http')!;
    expect(group.lead?.connection?.init.serverInfo).toMatchObject({ name: 'mcp-servers/everything' });
  });

  it('fails calls to a remote server that went away with its name, and reconnects when it is back', async () => {
    const port = http.port;
    await http.stop();
    await expect(client.callTool({ name: 'http__echo', arguments: { message: 'x' } })).rejects.toThrow(/"http"|Unknown tool: http__echo/);
    expect(await client.callTool({ name: 'sse__echo', arguments: { message: 'still here' } })).toMatchObject({ content: [{ text: 'Echo: still here' }] });
    await waitFor(async () => !(await client.listTools()).tools.some((t) => t.name === 'http__echo'), 'http tools to leave');
    http = await startEverythingHttp('streamableHttp', marker, port);
    await waitFor(async () => (await client.listTools()).tools.some((t) => t.name === 'http__echo'), 'http tools to return');
    expect(await client.callTool({ name: 'http__echo', arguments: { message: 'back' } })).toMatchObject({ content: [{ text: 'Echo: back' }] });
  });

  it('notices by health check that a remote server died, without any call to it', async () => {
    const group = outer.registry.groupFor(undefined, 'http')!;
    await http.stop();
    // tools/list is answered from the gateway's catalog: only the health check can notice the loss
    await waitFor(async () => !(await client.listTools()).tools.some((t) => t.name === 'http__echo'), 'the health check to drop http');
    expect(group.lastError?.message).toMatch(/health check failed|ECONNREFUSED|transport closed/);
    expect(outer.logs.some((l) => l.server === 'http' && l.msg === 'server unavailable; will retry')).toBe(true);
  });
});
