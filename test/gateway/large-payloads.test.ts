/**
 * Multi-megabyte messages full of multi-byte characters through the gateway on every transport,
 * both ways: client to gateway over each front (Streamable HTTP, legacy SSE, WebSocket, stdio), the
 * gateway to each kind of upstream (stdio process, Streamable HTTP, legacy SSE, WebSocket), and the
 * answers back. Every answer must come back exactly (same length and hash, no U+FFFD), and a 24 MiB
 * file read must succeed while health checks ping every 200 ms, without the server being restarted.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { connectClient, disconnect, FRONTS, gatewayLogs, newMarker, startTestGateway, waitForGatewayLog, type TestGateway } from '../helpers/gateway';
import { startEverythingHttp, type RemoteServer } from '../helpers/remote-servers';
import { everything, filesystem } from '../helpers/servers';
import { waitForNoProcesses } from '../helpers/processes';

const MiB = 1024 * 1024;
/**
 * Pings every 200 ms. The timeout leaves room for the server itself: server-filesystem blocks for
 * over a second reading and serialising 24 MiB on two busy cores (measured with no gateway in the
 * path), and a ping waits behind the answer in the pipe. The quadratic decoder this replaced took
 * far longer than 5 s for the same 48 MiB answer line (two copies of the file), so it would fail here.
 */
const healthCheck = { intervalMs: 200, timeoutMs: 5000 };
const maxBodyBytes = 64 * MiB;

/**
 * `bytes` of UTF-8 text. The 17-byte period shares no factor with any read size, so reads split
 * é (2 bytes), € (3) and 😀 (4) at every offset somewhere in the stream.
 */
function textOf(bytes: number): string {
  const period = 'é€😀 fleets\n'; // 2 + 3 + 4 + 8 bytes
  return period.repeat(Math.ceil(bytes / Buffer.byteLength(period)));
}

function expectSameText(got: unknown, want: string): void {
  if (typeof got !== 'string') throw new Error(`expected text, got ${typeof got}`);
  expect(got.length).toBe(want.length);
  expect(got.includes('\ufffd')).toBe(false);
  expect(sha256(got)).toBe(sha256(want));
}

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

interface ToolResult {
  content: { type: string; text: string }[];
  structuredContent?: { content: string };
}

describe('large payloads on every transport', () => {
  const marker = newMarker();
  const dir = mkdtempSync(join(tmpdir(), 'mcp-fleet-large-'));
  const bigFile = join(dir, 'big.txt');
  const midFile = join(dir, 'mid.txt');
  const big = textOf(24 * MiB);
  const mid = textOf(8 * MiB);
  let http: RemoteServer;
  let sse: RemoteServer;
  let inner: TestGateway;
  let outer: TestGateway;
  let client: Client;

  beforeAll(async () => {
    writeFileSync(bigFile, big);
    writeFileSync(midFile, mid);
    [http, sse] = await Promise.all([startEverythingHttp('streamableHttp', marker), startEverythingHttp('sse', marker)]);
    // A second gateway is the WebSocket, legacy SSE and Streamable HTTP upstream for large answers
    // (server-everything's HTTP servers take at most 4 MB per POST and it has no tool that answers big).
    inner = await startTestGateway({ http: { maxBodyBytes }, servers: { fs: filesystem(marker, dir), ev: everything(marker) } }, marker);
    const innerUrl = inner.url;
    outer = await startTestGateway(
      {
        http: { maxBodyBytes },
        servers: {
          fs: filesystem(marker, dir, { healthCheck }),
          ev: everything(marker, { healthCheck }),
          http: { url: http.url, healthCheck },
          sse: { url: sse.url, transport: 'sse', healthCheck },
          ws: { url: `${innerUrl.replace('http', 'ws')}/ws`, healthCheck },
          insse: { url: `${innerUrl}/sse`, transport: 'sse', healthCheck },
          inhttp: { url: `${innerUrl}/mcp`, healthCheck },
        },
      },
      marker,
    );
    client = await connectClient(outer, 'streamable-http');
  }, 60_000);

  afterAll(async () => {
    await client?.close();
    await outer?.stop();
    await inner?.stop();
    await Promise.all([http?.stop(), sse?.stop()]);
    rmSync(dir, { recursive: true, force: true });
    expect(await waitForNoProcesses(marker)).toEqual([]);
  });

  /** No upstream was lost and reconnected: no health check gave up on a healthy server. */
  function expectNoRestarts(logs: Record<string, unknown>[]): void {
    expect(logs.filter((l) => l.msg === 'server unavailable; will retry').map((l) => `${l.server}: ${l.err}`)).toEqual([]);
  }

  it('carries the answer to a 24 MiB file read from a stdio server while health checks run, and the server stays up', async () => {
    const fs = outer.registry.groupFor(undefined, 'fs')!;
    const before = fs.lead?.connection;
    const r = (await client.callTool({ name: 'fs__read_text_file', arguments: { path: bigFile } }, undefined, { timeout: 60_000 })) as ToolResult;
    expectSameText(r.content[0].text, big);
    expectSameText(r.structuredContent?.content, big);
    expect(fs.lead?.connection).toBe(before);
    expectNoRestarts(outer.logs);
  });

  // Over stdio the client is the SDK's, as a desktop app would run it, with the gateway CLI as its child.
  describe.each(FRONTS)('client to gateway over the %s front', (front) => {
    it('carries a 6 MiB request to a stdio server and its echo back', async () => {
      const c = await connectClient(outer, front);
      try {
        const message = textOf(6 * MiB);
        const r = (await c.callTool({ name: 'ev__echo', arguments: { message } }, undefined, { timeout: 60_000 })) as ToolResult;
        expectSameText(r.content[0].text, `Echo: ${message}`);
        // the stdio front's gateway logs asynchronously: its log is read up to the call's own line
        await waitForGatewayLog(outer, c, (l) => l.msg === 'call' && l.server === 'ev', 'the call line of the echo');
        expectNoRestarts(gatewayLogs(outer, c));
      } finally {
        await disconnect(c);
      }
    });
  });

  describe('gateway to each kind of upstream', () => {
    it.each([
      // server-everything's own HTTP servers, which take at most 4 MB per POST
      ['Streamable HTTP', 'http__echo', 3 * MiB],
      ['legacy SSE', 'sse__echo', 3 * MiB],
      // a second gateway's fronts, in front of its own stdio server-everything
      ['WebSocket', 'ws__ev__echo', 6 * MiB],
      ['legacy SSE (gateway)', 'insse__ev__echo', 6 * MiB],
      ['Streamable HTTP (gateway)', 'inhttp__ev__echo', 6 * MiB],
    ])('carries a large request over %s (%s) and its echo back', async (_kind, name, bytes) => {
      const message = textOf(bytes);
      const r = (await client.callTool({ name, arguments: { message } }, undefined, { timeout: 60_000 })) as ToolResult;
      expectSameText(r.content[0].text, `Echo: ${message}`);
    });

    it.each([
      ['WebSocket', 'ws__fs__read_text_file'],
      ['legacy SSE', 'insse__fs__read_text_file'],
      ['Streamable HTTP', 'inhttp__fs__read_text_file'],
    ])('carries the answer to an 8 MiB file read (16 MiB with its structured copy) back over %s (%s)', async (_kind, name) => {
      const r = (await client.callTool({ name, arguments: { path: midFile } }, undefined, { timeout: 60_000 })) as ToolResult;
      expectSameText(r.content[0].text, mid);
      expectSameText(r.structuredContent?.content, mid);
      expectNoRestarts(outer.logs);
    });
  });
});
