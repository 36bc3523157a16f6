/**
 * The upstream Streamable HTTP transport under the official SDK client, against real servers:
 * server-everything in streamableHttp mode and the gateway's own /mcp front.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { CreateMessageRequestSchema, type Progress } from '@modelcontextprotocol/sdk/types.js';
import { parseConfig } from '../config/load';
import { startGateway, type RunningGateway } from '../gateway';
import { createLogger } from '../log';
import { newMarker, startTestGateway, type TestGateway } from '../../test/helpers/gateway';
import { freePort } from '../../test/helpers/ports';
import { startEverythingHttp, type RemoteServer } from '../../test/helpers/remote-servers';
import { everything } from '../../test/helpers/servers';
import { waitForNoProcesses } from '../../test/helpers/processes';
import { toSdkTransport } from '../protocol/sdk-transport';
import { StreamableHttpTransport, type StreamableHttpTransportOptions } from './streamable-http-transport';

const SAMPLED = { model: 'test-model', role: 'assistant' as const, content: { type: 'text' as const, text: 'sampled answer' } };

/** An SDK client over the transport under test that answers sampling requests. */
async function connect(url: string, options: StreamableHttpTransportOptions = {}): Promise<{ client: Client; transport: StreamableHttpTransport }> {
  const transport = new StreamableHttpTransport(url, options);
  const client = new Client({ name: 'transport-test', version: '1.0.0' }, { capabilities: { sampling: {} } });
  client.setRequestHandler(CreateMessageRequestSchema, async () => SAMPLED);
  await client.connect(toSdkTransport(transport));
  return { client, transport };
}

/** A raw ping in an existing session: how a test asks the server whether it still knows the session. */
async function pingStatus(url: string, sessionId: string): Promise<number> {
  const res = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      'mcp-session-id': sessionId,
      'mcp-protocol-version': '2025-11-25',
    },
    body: JSON.stringify({ jsonrpc: '2.0', id: 'probe', method: 'ping' }),
  });
  await res.body?.cancel();
  return res.status;
}

/** Runs a tool that reports progress and one that asks the client to sample; both arrive on the call's POST stream. */
async function progressAndSampling(client: Client, prefix: string): Promise<void> {
  const progress: Progress[] = [];
  const long = await client.callTool({ name: `${prefix}trigger-long-running-operation`, arguments: { duration: 0.3, steps: 3 } }, undefined, {
    onprogress: (p) => progress.push(p),
  });
  expect(long.content).toEqual([{ type: 'text', text: expect.stringContaining('Long running operation completed') }]);
  expect(progress.map((p) => p.progress)).toEqual([1, 2, 3]);
  const sampled = await client.callTool({ name: `${prefix}trigger-sampling-request`, arguments: { prompt: 'hello' } });
  expect((sampled.content as { text: string }[])[0].text).toContain('sampled answer');
}

describe('upstream Streamable HTTP transport with server-everything', () => {
  const marker = newMarker();
  let server: RemoteServer;

  beforeAll(async () => {
    server = await startEverythingHttp('streamableHttp', marker);
  });
  afterAll(async () => {
    await server?.stop();
    expect(await waitForNoProcesses(marker)).toEqual([]);
  });

  it('initializes a session and relays calls, progress and sampling arriving on the POST stream', async () => {
    const { client, transport } = await connect(server.url);
    expect(transport.sessionId).toMatch(/^[0-9a-f-]{36}$/);
    expect(await client.callTool({ name: 'echo', arguments: { message: 'hi' } })).toEqual({ content: [{ type: 'text', text: 'Echo: hi' }] });
    await progressAndSampling(client, '');
    await client.close();
  });

  it('ends the session with DELETE on close', async () => {
    const { client, transport } = await connect(server.url);
    const sessionId = transport.sessionId!;
    expect(await pingStatus(server.url, sessionId)).toBe(200);
    await client.close();
    // server-everything answers an unknown session with 400 (the spec says 404)
    expect(await pingStatus(server.url, sessionId)).toBe(400);
  });
});

describe('upstream Streamable HTTP transport with the gateway front', () => {
  const marker = newMarker();
  let gw: TestGateway;

  beforeAll(async () => {
    gw = await startTestGateway({ servers: { local: everything(marker) } }, marker);
  });
  afterAll(async () => {
    await gw?.stop();
    expect(await waitForNoProcesses(marker)).toEqual([]);
  });

  it('relays progress and sampling through a gateway, and ends the session with DELETE', async () => {
    const url = `${gw.url}/mcp`;
    const { client, transport } = await connect(url);
    await progressAndSampling(client, 'local__');
    const sessionId = transport.sessionId!;
    await client.close();
    expect(await pingStatus(url, sessionId)).toBe(404);
  });

  it('names the URL and the status when the server refuses a request', async () => {
    const transport = new StreamableHttpTransport(`${gw.url}/mcp`);
    await expect(transport.send({ jsonrpc: '2.0', id: 1, method: 'ping' })).rejects.toThrow(`POST ${gw.url}/mcp: HTTP 400 Bad Request: {"jsonrpc":"2.0",`);
    await expect(transport.send({ jsonrpc: '2.0', id: 1, method: 'ping' })).rejects.toThrow('Mcp-Session-Id header is required');
    await transport.close();
  });
});

describe('upstream Streamable HTTP transport when the session or the server is gone', () => {
  const marker = newMarker();
  let gw: RunningGateway | undefined;
  const startOn = async (port: number) => {
    const config = parseConfig({ servers: { local: everything(marker) }, listen: `127.0.0.1:${port}` }, 'test config');
    gw = await startGateway(config, { log: createLogger('silent') });
  };
  afterAll(async () => {
    await gw?.stop();
    expect(await waitForNoProcesses(marker)).toEqual([]);
  });

  it('closes when a restarted server no longer knows the session (404), so its owner starts a new one', async () => {
    const port = await freePort();
    await startOn(port);
    const url = `http://127.0.0.1:${port}/mcp`;
    const { client, transport } = await connect(url, { reconnect: { initialDelayMs: 20 } });
    const closed = new Promise<void>((resolve) => (client.onclose = resolve));
    const errors: Error[] = [];
    client.onerror = (err) => errors.push(err);
    await gw!.stop();
    await startOn(port);
    // The GET stream dropped with the old server; reopening it (or any request) meets the 404.
    await closed;
    expect(transport.sessionId).toBeUndefined();
    expect(errors.map((e) => e.message)).toContainEqual(expect.stringMatching(new RegExp(`^(GET|POST) ${url}: HTTP 404, the server ended session`)));
    await expect(client.ping()).rejects.toThrow();
  });

  it('rejects a send to a refused port with an error naming the URL', async () => {
    const port = await freePort();
    const transport = new StreamableHttpTransport(`http://127.0.0.1:${port}/mcp`);
    await expect(transport.send({ jsonrpc: '2.0', id: 1, method: 'ping' })).rejects.toThrow(
      `POST http://127.0.0.1:${port}/mcp: connect ECONNREFUSED 127.0.0.1:${port}`,
    );
    await transport.close();
  });

  it('refuses a URL it cannot use, naming it', () => {
    expect(() => new StreamableHttpTransport('not a url')).toThrow('upstream URL "not a url" is not a valid URL');
    expect(() => new StreamableHttpTransport('ftp://127.0.0.1/mcp?key=secret')).toThrow(
      'upstream URL "ftp://127.0.0.1/mcp" must start with http: or https: (got ftp:)',
    );
  });
});
