/**
 * Rate limits and concurrency limits on a real gateway over real HTTP and WebSocket, with API-key
 * principals, official SDK clients of both eras and raw requests where the status and headers are
 * the point: a principal over its rate is refused (JSON-RPC error with the wait, 429 with
 * Retry-After on /mcp) while another is served, and is served again once its bucket refilled;
 * per-server and per-tool buckets; a server with maxConcurrent 1 and maxQueued 1 that queues one
 * call and sheds the rest at once.
 */
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import { connectGateway } from '../../gateway/client/connect';
import { connectModernGateway } from '../../gateway/client/connect-modern';
import { newMarker, startTestGateway, type TestGateway } from '../helpers/gateway';
import { scrapeMetrics, sampleValue } from '../helpers/metrics';
import { waitForNoProcesses } from '../helpers/processes';
import { modernRequest, postModern } from '../helpers/raw-modern';
import { postRaw, rawSession } from '../helpers/raw-http';
import { scripted, sleepsStarted } from '../helpers/scripted';
import { waitFor } from '../helpers/wait';

const KEYS = { alice: 'alice-key-0123456789abcdefghijklmnopqrstuvwxyz', bob: 'bob-key-0123456789abcdefghijklmnopqrstuvwxyz0' };
const bearer = (who: keyof typeof KEYS) => ({ authorization: `Bearer ${KEYS[who]}` });
const callBody = (id: number, name: string, args: Record<string, unknown> = {}) =>
  JSON.stringify({ jsonrpc: '2.0', id, method: 'tools/call', params: { name, arguments: args } });

describe('rate limits and concurrency limits', () => {
  const marker = newMarker();
  let gw: TestGateway;

  beforeAll(async () => {
    gw = await startTestGateway(
      {
        auth: { apiKeys: { keys: Object.entries(KEYS).map(([name, key]) => ({ name, key })) } },
        rateLimits: {
          rules: [
            // each principal: 2 calls of a's echo at once, then one every 2 s
            { name: 'echo-per-key', servers: ['a'], tools: ['echo'], requestsPerSecond: 0.5, burst: 2 },
            // each principal: one call of d, then one every 100 s
            { name: 'd-per-key', servers: ['d'], requestsPerSecond: 0.01, burst: 1 },
            // server b, everyone together
            { name: 'b-per-server', servers: ['b'], per: 'server', requestsPerSecond: 0.2, burst: 3 },
            // each tool of c on its own, everyone together
            { name: 'c-per-tool', servers: ['c'], per: 'tool', requestsPerSecond: 0.2, burst: 1 },
          ],
        },
        servers: {
          a: scripted(marker, ['--tools', 'echo,sleep']),
          b: scripted(marker, ['--tools', 'echo']),
          c: scripted(marker, ['--tools', 'echo,sleep']),
          d: scripted(marker, ['--tools', 'echo']),
          slow: scripted(marker, ['--tools', 'sleep,echo'], { limits: { maxConcurrent: 1, maxQueued: 1, queueTimeoutMs: 30_000 } }),
        },
      },
      marker,
    );
  });

  afterAll(async () => {
    await gw?.stop();
    expect(await waitForNoProcesses(marker)).toEqual([]);
  });

  it('refuses a principal over its rate with retryAfterMs and, on /mcp, 429 with Retry-After; another principal is served meanwhile; the first again once its bucket refilled', async () => {
    const alice = await rawSession(`${gw.url}/mcp`, bearer('alice'));
    const bob = await connectGateway(gw.url, 'streamable-http', { headers: bearer('bob') });
    try {
      for (const id of [1, 2]) expect((await postRaw(`${gw.url}/mcp`, callBody(id, 'a__echo'), alice.headers)).status).toBe(200);
      const refused = await postRaw(`${gw.url}/mcp`, callBody(3, 'a__echo'), alice.headers);
      expect(refused.status).toBe(429);
      const error = refused.messages[0].error;
      expect(error).toMatchObject({ code: -32000, data: { fleetCode: 'RATE_LIMITED', limit: 'echo-per-key', retryAfterMs: expect.any(Number) } });
      expect(error.data.retryAfterMs).toBeGreaterThan(0);
      expect(error.data.retryAfterMs).toBeLessThanOrEqual(2000);
      expect(error.message).toMatch(/rate limit "echo-per-key" reached for tool "echo" of server "a"/);
      expect(Number(refused.headers.get('retry-after'))).toBe(Math.ceil(error.data.retryAfterMs / 1000));
      // the same rule, bob's own bucket: served at once, twice
      for (let i = 0; i < 2; i++) expect((await bob.client.callTool({ name: 'a__echo', arguments: { i } })).isError).toBeFalsy();
      // a tool no rule names is not limited for alice either
      expect((await postRaw(`${gw.url}/mcp`, callBody(4, 'a__sleep', { ms: 1 }), alice.headers)).status).toBe(200);
      // refused polls take nothing, so alice is served again as soon as one token is back
      let id = 10;
      const served = await waitFor(async () => {
        const reply = await postRaw(`${gw.url}/mcp`, callBody(id++, 'a__echo'), alice.headers);
        return reply.status === 200 && reply.messages[0].result;
      }, "alice's bucket to refill");
      expect(served.isError).toBeFalsy();
    } finally {
      await bob.close();
      await alice.close();
    }
    expect(sampleValue(await scrapeMetrics(gw), 'mcp_gateway_rate_limited_total', { limit: 'echo-per-key', server: 'a' })).toBeGreaterThanOrEqual(1);
  });

  it('tells an SDK client the wait in the JSON-RPC error over a WebSocket, and with HTTP 429 over Streamable HTTP', async () => {
    const ws = await connectGateway(gw.url, 'websocket', { headers: bearer('bob') });
    const http = await connectGateway(gw.url, 'streamable-http', { headers: bearer('bob') });
    try {
      expect((await ws.client.callTool({ name: 'd__echo', arguments: {} })).isError).toBeFalsy();
      const refusedOnWs = await ws.client.callTool({ name: 'd__echo', arguments: {} }).catch((err: unknown) => err);
      expect(refusedOnWs).toBeInstanceOf(McpError);
      expect((refusedOnWs as McpError).data).toMatchObject({ fleetCode: 'RATE_LIMITED', limit: 'd-per-key', retryAfterMs: expect.any(Number) });
      expect(((refusedOnWs as McpError).data as { retryAfterMs: number }).retryAfterMs).toBeGreaterThan(90_000);
      const refusedOnHttp = (await http.client.callTool({ name: 'd__echo', arguments: {} }).catch((err: unknown) => err)) as { code?: number; message: string };
      expect(refusedOnHttp.code).toBe(429);
      expect(refusedOnHttp.message).toMatch(/"retryAfterMs":\d+/);
    } finally {
      await ws.close();
      await http.close();
    }
  });

  it('counts a per-server bucket for every principal, and gives 2026-07-28 requests the same answer', async () => {
    const alice = await connectGateway(gw.url, 'streamable-http', { headers: bearer('alice') });
    const bob = await connectModernGateway(gw.url, { headers: bearer('bob') });
    try {
      expect((await alice.client.callTool({ name: 'b__echo', arguments: {} })).isError).toBeFalsy();
      expect((await bob.client.callTool({ name: 'b__echo', arguments: {} })).isError).toBeFalsy();
      expect((await alice.client.callTool({ name: 'b__echo', arguments: {} })).isError).toBeFalsy();
      // the server's three are spent: bob's stateless request is refused, by the SDK v2 client and raw
      const refused = (await bob.client.callTool({ name: 'b__echo', arguments: {} }).catch((err: unknown) => err)) as { status?: number; message: string };
      expect(String(refused.message)).toMatch(/b-per-server/);
      const raw = await postModern(`${gw.url}/mcp`, modernRequest(1, 'tools/call', { name: 'b__echo', arguments: {} }), bearer('bob'));
      expect(raw.status).toBe(429);
      expect(Number(raw.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(raw.messages[0].error).toMatchObject({ data: { fleetCode: 'RATE_LIMITED', limit: 'b-per-server', retryAfterMs: expect.any(Number) } });
      expect(sampleValue(await scrapeMetrics(gw), 'mcp_gateway_rate_limited_total', { limit: 'b-per-server', server: 'b' })).toBe(2);
    } finally {
      await alice.close();
      await bob.close();
    }
  });

  it('counts a per-tool bucket for each tool on its own, for both eras', async () => {
    const echo = modernRequest(1, 'tools/call', { name: 'c__echo', arguments: {} });
    expect((await postModern(`${gw.url}/mcp`, echo, bearer('alice'))).status).toBe(200);
    const again = await postModern(`${gw.url}/mcp`, { ...echo, id: 2 }, bearer('bob'));
    expect(again.status).toBe(429);
    expect(again.messages[0].error.data).toMatchObject({ limit: 'c-per-tool' });
    // the other tool of the same server has its own bucket, also for a 2025 session
    const session = await rawSession(`${gw.url}/mcp`, bearer('bob'));
    expect((await postRaw(`${gw.url}/mcp`, callBody(1, 'c__sleep', { ms: 1 }), session.headers)).status).toBe(200);
    const second = await postRaw(`${gw.url}/mcp`, callBody(2, 'c__sleep', { ms: 1 }), session.headers);
    expect(second.status).toBe(429);
    expect(second.messages[0].error.data).toMatchObject({ limit: 'c-per-tool' });
    await session.close();
  });

  it('with maxConcurrent 1 and maxQueued 1, queues one call behind the running one and refuses the rest at once, of either era', async () => {
    const alice = await connectGateway(gw.url, 'streamable-http', { headers: bearer('alice') });
    const bob = await connectModernGateway(gw.url, { headers: bearer('bob') });
    try {
      const started = sleepsStarted(gw.logs, 'slow');
      let firstDone = false;
      const first = alice.client.callTool({ name: 'slow__sleep', arguments: { ms: 4000 } }).finally(() => (firstDone = true));
      await waitFor(() => sleepsStarted(gw.logs, 'slow') === started + 1, 'the first call to run upstream');
      const second = alice.client.callTool({ name: 'slow__sleep', arguments: { ms: 1 } });
      await waitFor(async () => sampleValue(await scrapeMetrics(gw), 'mcp_gateway_queued_requests', { server: 'slow' }) === 1, 'the second call to wait');

      // a flood of both eras while the queue is full: every call refused at once, none queued
      const flood = await Promise.all([
        ...Array.from({ length: 10 }, () => alice.client.callTool({ name: 'slow__echo', arguments: {} }).catch((err: unknown) => err)),
        ...Array.from({ length: 10 }, () => bob.client.callTool({ name: 'slow__echo', arguments: {} }).catch((err: unknown) => err)),
      ]);
      expect(firstDone).toBe(false);
      for (const refused of flood)
        expect(String((refused as Error).message)).toMatch(/server "slow" is busy: 1 request\(s\) in flight .* and 1 waiting \(limits.maxQueued 1\)/);
      expect((flood[0] as McpError).code).toBe(-32600);
      expect((flood[0] as McpError).data).toMatchObject({ fleetCode: 'LIMIT_REACHED', server: 'slow', limit: 'maxQueued' });
      const metrics = await scrapeMetrics(gw);
      expect(sampleValue(metrics, 'mcp_gateway_queued_requests', { server: 'slow' })).toBe(1);
      expect(sampleValue(metrics, 'mcp_gateway_concurrent_requests', { server: 'slow' })).toBe(1);
      expect(sampleValue(metrics, 'mcp_gateway_rate_limited_total', { limit: 'maxQueued', server: 'slow' })).toBe(20);

      // the queued call runs only after the first
      expect(sleepsStarted(gw.logs, 'slow')).toBe(started + 1);
      expect((await first).content).toEqual([{ type: 'text', text: 'slept 4000' }]);
      expect((await second).content).toEqual([{ type: 'text', text: 'slept 1' }]);
      await waitFor(() => sleepsStarted(gw.logs, 'slow') === started + 2, 'the log line of the second call');
      const after = await scrapeMetrics(gw);
      expect(sampleValue(after, 'mcp_gateway_queued_requests', { server: 'slow' })).toBe(0);
      expect(sampleValue(after, 'mcp_gateway_concurrent_requests', { server: 'slow' })).toBe(0);
      expect((await bob.client.callTool({ name: 'slow__echo', arguments: {} })).isError).toBeFalsy();
    } finally {
      await alice.close();
      await bob.close();
    }
  });
});
