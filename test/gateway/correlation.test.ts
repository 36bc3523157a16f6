/**
 * Correlation ids end to end, with the official SDK clients (v1 over Streamable HTTP, legacy SSE
 * and WebSocket; v2 in the 2026-07-28 era) and real upstreams: a stdio server (the scripted
 * fixture), an HTTP one (the SDK's server, which reports the X-Request-Id and `_meta` it got) and
 * a second gateway as a 2026-07-28 HTTP upstream (its own call line names the id it received).
 * Every HTTP answer carries X-Request-Id (the client's, or a fresh one), the gateway's log lines of
 * the request name it and the trace id, the upstream receives it, and a hostile value is replaced.
 */
import { connect, type Socket } from 'node:net';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { Client as ModernClient, StreamableHTTPClientTransport as ModernTransport } from '@modelcontextprotocol/client';
import WebSocket from 'ws';
import { MODERN_VERSION } from '../../gateway/protocol/eras';
import { REQUEST_ID_META } from '../../gateway/protocol/request-id';
import { toSdkTransport } from '../../gateway/protocol/sdk-transport';
import { MCP_WS_SUBPROTOCOL, WebSocketTransport } from '../../gateway/protocol/ws-transport';
import { startAuthCheckingServer, type AuthCheckingServer } from '../helpers/auth-checking-server';
import { newMarker, startTestGateway, type TestGateway } from '../helpers/gateway';
import { waitForNoProcesses } from '../helpers/processes';
import { INITIALIZE_BODY, postRaw } from '../helpers/raw-http';
import { scripted } from '../helpers/scripted';
import { testSecret } from '../helpers/secret-values';
import { waitFor } from '../helpers/wait';

const UPSTREAM_TOKEN = testSecret('correlation-upstream-token-0123456789abcdef');
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const marker = newMarker();
let http: AuthCheckingServer;
let inner: TestGateway;
let gw: TestGateway;

beforeAll(async () => {
  http = await startAuthCheckingServer([`Bearer ${UPSTREAM_TOKEN}`]);
  inner = await startTestGateway({ servers: { s: scripted(marker, ['--tools', 'echo']) } }, marker);
  gw = await startTestGateway(
    {
      servers: {
        s: scripted(marker, ['--tools', 'echo,sleep']),
        remote: { url: http.url, headers: { Authorization: `Bearer ${UPSTREAM_TOKEN}` } },
        modern: { url: `${inner.url}/mcp`, protocol: MODERN_VERSION },
      },
    },
    marker,
  );
});

afterAll(async () => {
  await gw?.stop();
  await inner?.stop();
  await http?.stop();
  expect(await waitForNoProcesses(marker)).toEqual([]);
});

/** A fetch that records the X-Request-Id of every answer, with the JSON-RPC method of the POST it answered. */
function recordingFetch(): { fetch: typeof fetch; seen: { method: string | undefined; requestId: string | null }[] } {
  const seen: { method: string | undefined; requestId: string | null }[] = [];
  return {
    seen,
    fetch: async (url, init) => {
      const res = await fetch(url, init);
      const body = typeof init?.body === 'string' ? (JSON.parse(init.body) as { method?: string }) : undefined;
      seen.push({ method: init?.method === 'POST' ? body?.method : `${init?.method ?? 'GET'}`, requestId: res.headers.get('x-request-id') });
      return res;
    },
  };
}

async function sdkClient(transport: Transport): Promise<Client> {
  const client = new Client({ name: 'correlation-test', version: '1.0.0' });
  await client.connect(transport);
  return client;
}

const text = (r: unknown) => (r as { content: { text: string }[] }).content[0].text;
const received = (r: unknown) => (r as { receivedParams: { _meta: Record<string, string> } }).receivedParams._meta;
const traceOf = (traceparent: string) => traceparent.split('-')[1];
const linesOf = (logs: Record<string, unknown>[], requestId: string) => logs.filter((l) => l.requestId === requestId);

/** What the HTTP upstream got for a `remote__correlation` call, and the stdio upstream for `s__echo`. */
async function callBoth(client: { callTool: (p: { name: string; arguments: Record<string, unknown> }) => Promise<unknown> }) {
  const remote = JSON.parse(text(await client.callTool({ name: 'remote__correlation', arguments: {} }))) as { header?: string; meta: Record<string, string> };
  const stdio = received(await client.callTool({ name: 's__echo', arguments: {} }));
  return { remote, stdio };
}

/** The gateway's call lines with `requestId`: one per call, each naming the trace the upstream got. */
function expectCallLines(requestId: string, traceparents: string[]): void {
  const calls = linesOf(gw.logs, requestId).filter((l) => l.msg === 'call' && l.method === 'tools/call');
  expect(calls.map((l) => l.trace).sort()).toEqual(traceparents.map(traceOf).sort());
}

test('Streamable HTTP (SDK v1): the client id is answered, logged with the trace, and reaches stdio, HTTP and 2026 HTTP upstreams', async () => {
  const rec = recordingFetch();
  const client = await sdkClient(
    new StreamableHTTPClientTransport(new URL(`${gw.url}/mcp`), { fetch: rec.fetch, requestInit: { headers: { 'X-Request-Id': 'client-req-1' } } }),
  );
  try {
    const { remote, stdio } = await callBoth(client);
    expect(remote.header).toBe('client-req-1');
    expect(remote.meta[REQUEST_ID_META]).toBe('client-req-1');
    expect(stdio[REQUEST_ID_META]).toBe('client-req-1');
    expectCallLines('client-req-1', [remote.meta.traceparent, stdio.traceparent]);

    // a refusal's line is one of the request's too: it names both ids
    await expect(client.callTool({ name: 'nowhere__tool', arguments: {} })).rejects.toThrow();
    expect(linesOf(gw.logs, 'client-req-1').find((l) => l.msg === 'request refused')).toMatchObject({ trace: expect.stringMatching(/^[0-9a-f]{32}$/) });

    await client.callTool({ name: 'modern__s__echo', arguments: {} });
    // the 2026 upstream (a gateway) took the id from the X-Request-Id header it was sent
    await waitFor(() => linesOf(inner.logs, 'client-req-1').some((l) => l.msg === 'call'), 'the inner gateway logs the call under the client id');
  } finally {
    await client.close();
  }
  expect(rec.seen.length).toBeGreaterThan(3);
  for (const s of rec.seen) expect(s.requestId).toBe('client-req-1');
});

test('Streamable HTTP without X-Request-Id: each POST gets a fresh id, which its calls are logged and forwarded under', async () => {
  const rec = recordingFetch();
  const client = await sdkClient(new StreamableHTTPClientTransport(new URL(`${gw.url}/mcp`), { fetch: rec.fetch }));
  try {
    const { remote, stdio } = await callBoth(client);
    const ids = rec.seen.filter((s) => s.method === 'tools/call').map((s) => s.requestId!);
    expect(ids).toHaveLength(2);
    for (const id of ids) expect(id).toMatch(UUID);
    expect(ids[0]).not.toBe(ids[1]);
    expect([remote.header, remote.meta[REQUEST_ID_META], stdio[REQUEST_ID_META]]).toEqual([ids[0], ids[0], ids[1]]);
    expectCallLines(ids[0], [remote.meta.traceparent]);
    expectCallLines(ids[1], [stdio.traceparent]);
  } finally {
    await client.close();
  }
});

test('legacy SSE (SDK v1): the stream and every POST answer with the client id, and its calls carry it', async () => {
  const rec = recordingFetch();
  const headers = { 'X-Request-Id': 'sse-req-2' };
  const withId: typeof fetch = (url, init) => rec.fetch(url, { ...init, headers: { ...Object.fromEntries(new Headers(init?.headers)), ...headers } });
  const client = await sdkClient(new SSEClientTransport(new URL(`${gw.url}/sse`), { fetch: withId }));
  try {
    const { remote, stdio } = await callBoth(client);
    expect([remote.header, remote.meta[REQUEST_ID_META], stdio[REQUEST_ID_META]]).toEqual(['sse-req-2', 'sse-req-2', 'sse-req-2']);
    expectCallLines('sse-req-2', [remote.meta.traceparent, stdio.traceparent]);
  } finally {
    await client.close();
  }
  expect(rec.seen.map((s) => s.method)).toEqual(expect.arrayContaining(['GET', 'initialize', 'tools/call']));
  for (const s of rec.seen) expect(s.requestId).toBe('sse-req-2');
});

test("WebSocket: the upgrade's id is in the 101 and on every call of the connection", async () => {
  const socket = new WebSocket(`${gw.url.replace('http', 'ws')}/ws`, MCP_WS_SUBPROTOCOL, { headers: { 'X-Request-Id': 'ws-conn-3' } });
  const upgraded = new Promise<string | undefined>((resolve) => socket.once('upgrade', (res) => resolve(res.headers['x-request-id'] as string | undefined)));
  const opening = new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });
  const client = await sdkClient(toSdkTransport(new WebSocketTransport(socket, {}, opening)));
  try {
    expect(await upgraded).toBe('ws-conn-3');
    const { remote, stdio } = await callBoth(client);
    expect([remote.header, remote.meta[REQUEST_ID_META], stdio[REQUEST_ID_META]]).toEqual(['ws-conn-3', 'ws-conn-3', 'ws-conn-3']);
    expectCallLines('ws-conn-3', [remote.meta.traceparent, stdio.traceparent]);
  } finally {
    await client.close();
  }
});

test('2026-07-28 (SDK v2): each stateless request is answered, logged and forwarded under the client id', async () => {
  const rec = recordingFetch();
  const client = new ModernClient({ name: 'correlation-test', version: '1.0.0' }, { capabilities: {}, versionNegotiation: { mode: { pin: MODERN_VERSION } } });
  await client.connect(new ModernTransport(new URL(`${gw.url}/mcp`), { fetch: rec.fetch, requestInit: { headers: { 'X-Request-Id': 'modern-req-4' } } }));
  try {
    const { remote, stdio } = await callBoth(client);
    expect([remote.header, remote.meta[REQUEST_ID_META], stdio[REQUEST_ID_META]]).toEqual(['modern-req-4', 'modern-req-4', 'modern-req-4']);
    expectCallLines('modern-req-4', [remote.meta.traceparent, stdio.traceparent]);
  } finally {
    await client.close();
  }
  expect(rec.seen.filter((s) => s.method === 'tools/call').map((s) => s.requestId)).toEqual(['modern-req-4', 'modern-req-4']);
});

test("a stdio server's stderr line during the only call in flight names that call's trace and request id", async () => {
  const client = await sdkClient(new StreamableHTTPClientTransport(new URL(`${gw.url}/mcp`), { requestInit: { headers: { 'X-Request-Id': 'stderr-req-5' } } }));
  const abort = new AbortController();
  try {
    const running = client.callTool({ name: 's__sleep', arguments: { ms: 60_000 } }, undefined, { signal: abort.signal }).catch(() => undefined);
    const line = await waitFor(
      () => gw.logs.find((l) => l.server === 's' && l.stream === 'stderr' && String(l.msg).startsWith('sleeping ')),
      'the sleep call to be running',
    );
    expect(line).toMatchObject({ requestId: 'stderr-req-5', trace: expect.stringMatching(/^[0-9a-f]{32}$/) });
    abort.abort();
    await running;
    const call = await waitFor(() => linesOf(gw.logs, 'stderr-req-5').find((l) => l.msg === 'call'), 'the call line of the cancelled call');
    expect(call.trace).toBe(line.trace);
  } finally {
    await client.close();
  }
});

describe('a hostile X-Request-Id is replaced, never reflected', () => {
  test.each([
    ['too long', 'a'.repeat(129)],
    ['non-ASCII', 'caf\u00e9-\u00ff'],
    ['spaces and quotes', 'x" onload="y'],
  ])('%s', async (_what, value) => {
    const reply = await postRaw(`${gw.url}/mcp`, INITIALIZE_BODY, { 'x-request-id': value });
    expect(reply.status).toBe(200);
    const id = reply.headers.get('x-request-id')!;
    expect(id).toMatch(UUID);
    const replaced = gw.logs.find((l) => l.msg === 'X-Request-Id of the client replaced' && l.requestId === id);
    expect(replaced).toBeDefined();
    expect(JSON.stringify(gw.logs)).not.toContain(JSON.stringify(value).slice(1, -1));
  });

  test('CR/LF in the value: the request is refused by the HTTP parser or the id is replaced; the value is never echoed', async () => {
    for (const raw of ['abc\rinjected: 1', 'abc\ninjected: 1', 'abc\r\n injected']) {
      const answer = await rawRequest(
        gw.url,
        `POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\nX-Request-Id: ${raw}\r\nContent-Length: ${Buffer.byteLength(INITIALIZE_BODY)}\r\nConnection: close\r\n\r\n${INITIALIZE_BODY}`,
      );
      expect(answer).not.toContain('injected');
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1]);
      if (status === 200) expect(/^x-request-id: (.*)$/im.exec(answer)?.[1].trim()).toMatch(UUID);
      else expect(status).toBe(400);
    }
  });
});

/** Writes `request` as it is on a fresh connection and returns everything the gateway answered until it closed. */
function rawRequest(base: string, request: string): Promise<string> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const socket: Socket = connect(Number(port), hostname, () => socket.write(request));
    let answer = '';
    socket.on('data', (c: Buffer) => (answer += c.toString('latin1')));
    socket.once('error', reject);
    socket.once('close', () => resolve(answer));
  });
}
