/**
 * Upstream supervision through the in-memory gateway: a crashed server is reconnected with
 * exponential backoff while its tools leave and come back (clients hear list_changed each time);
 * health-check pings that get no answer in time make the backend degraded, then, after
 * unhealthyThreshold in a row, down, and lose the connection; one answered with an error does not
 * (any answer proves the server alive). Forwarded calls that time out count too, calls stuck in
 * the same silence once. The era the first probe found holds for reconnects.
 */
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { McpError, PingRequestSchema, ToolListChangedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { memoryGateway, type MemoryGateway } from '../../test/helpers/memory-gateway';
import { callText, logLines, whoamiServer } from '../../test/helpers/memory-servers';
import { waitFor } from '../../test/helpers/wait';
import { z } from 'zod';

const RESTART = { initialDelayMs: 20, maxDelayMs: 50, factor: 2 };
const RETRY = 'server unavailable; will retry';
const HEALTH = 'backend health changed';

/** The delay the supervisor may choose before retry `attempt` (1-based): the backoff step, ±20% jitter. */
function delayBounds(attempt: number): [number, number] {
  const base = Math.min(RESTART.maxDelayMs, RESTART.initialDelayMs * RESTART.factor ** (attempt - 1));
  return [Math.round(base * 0.8), Math.round(base * 1.2)];
}

/** A client that counts the tools/list_changed it hears. */
async function listening(gw: MemoryGateway): Promise<{ client: Client; changes: () => number }> {
  let changes = 0;
  const client = await gw.connect({ setup: (c) => c.setNotificationHandler(ToolListChangedNotificationSchema, () => void changes++) });
  return { client, changes: () => changes };
}

describe('upstream supervision', () => {
  let gw: MemoryGateway | undefined;

  afterEach(() => gw?.stop());

  it('reconnects a crashed server with backoff; its tools leave and come back, and clients hear both', async () => {
    let refusing = false;
    let attempt = 0;
    gw = await memoryGateway(
      { s: { restart: RESTART } },
      {
        s: () => {
          attempt++;
          if (refusing) throw new Error(`attempt ${attempt} refused`);
          return whoamiServer(`s#${attempt}`, 's');
        },
      },
    );
    const { client, changes } = await listening(gw);
    expect(await callText(client, 's__whoami')).toBe('s#1');
    refusing = true;
    await gw.upstreams.crash('s');
    await waitFor(() => changes() === 1, 'list_changed as the tools leave', 5_000, 5);
    expect((await client.listTools()).tools).toEqual([]);
    // The crash and then three refused attempts, each retried later than the one before, up to the cap.
    const retries = await logLines(gw, RETRY, 4);
    expect(retries.slice(0, 4).map((l) => l.attempt)).toEqual([1, 2, 3, 4]);
    for (const line of retries.slice(0, 4)) {
      const [low, high] = delayBounds(line.attempt as number);
      expect(line.retryInMs).toBeGreaterThanOrEqual(low);
      expect(line.retryInMs).toBeLessThanOrEqual(high);
    }
    expect(retries[1].err).toMatch(/^attempt \d+ refused$/);
    refusing = false;
    await waitFor(() => changes() === 2, 'list_changed as the tools come back', 5_000, 5);
    expect((await client.listTools()).tools.map((t) => t.name)).toEqual(['s__whoami', 's__echo']);
    expect(await callText(client, 's__whoami')).toBe(`s#${attempt}`);
    // Connected again, the backoff starts over.
    const before = gw.logs.filter((l) => l.msg === RETRY).length;
    await gw.upstreams.crash('s');
    const after = await logLines(gw, RETRY, before + 1);
    expect(after[before]).toMatchObject({ attempt: 1, server: 's' });
  });

  it('fails a call in flight on a crashed server with UPSTREAM_UNAVAILABLE naming it', async () => {
    let release: (() => void) | undefined;
    gw = await memoryGateway(
      { s: { restart: RESTART } },
      {
        s: () => {
          const server = whoamiServer('s');
          server.registerTool('hold', {}, () => new Promise((resolve) => (release = () => resolve({ content: [] }))));
          return server;
        },
      },
    );
    const client = await gw.connect();
    const call = client.callTool({ name: 's__hold', arguments: {} });
    await waitFor(() => release, 'the call at the server', 5_000, 5);
    await gw.upstreams.crash('s');
    await expect(call).rejects.toMatchObject({
      code: -32000,
      message: 'MCP error -32000: server "s" disconnected',
      data: { server: 's', fleetCode: 'UPSTREAM_UNAVAILABLE' },
    });
  });

  it('degrades a backend whose health-check ping gets no answer in time, takes it down after unhealthyThreshold in a row, and reconnects', async () => {
    let attempt = 0;
    gw = await memoryGateway(
      { s: { restart: RESTART, healthCheck: { intervalMs: 20, timeoutMs: 50, unhealthyThreshold: 2 } } },
      {
        s: () => {
          const server = whoamiServer(`s#${++attempt}`, 's');
          // The first server stops answering pings (until the gateway gives up on one and cancels it).
          if (attempt === 1)
            server.server.setRequestHandler(
              PingRequestSchema,
              (_r, extra) => new Promise((_resolve, reject) => extra.signal.addEventListener('abort', () => reject(new Error('cancelled')))),
            );
          return server;
        },
      },
    );
    const [lost] = await logLines(gw, RETRY, 1);
    const noAnswer = 'server "s" did not answer ping within 50 ms';
    expect(lost).toMatchObject({ server: 's', attempt: 1, err: `health check failed: 2 requests in a row got no answer and no traffic (last: ${noAnswer})` });
    expect(gw.logs.filter((l) => l.msg === HEALTH).map(({ from, to, reason, consecutiveFailures }) => ({ from, to, reason, consecutiveFailures }))).toEqual([
      { from: 'healthy', to: 'degraded', reason: noAnswer, consecutiveFailures: 1 },
      { from: 'degraded', to: 'down', reason: noAnswer, consecutiveFailures: 2 },
    ]);
    await waitFor(() => gw!.logs.filter((l) => l.msg === 'server connected').length === 2, 'the reconnect', 5_000, 5);
    const client = await gw.connect();
    expect(await callText(client, 's__whoami')).toBe('s#2');
  });

  it('keeps a connection whose health-check ping is answered with an error', async () => {
    let pings = 0;
    gw = await memoryGateway(
      { s: { restart: RESTART, healthCheck: { intervalMs: 20, timeoutMs: 50 } } },
      {
        s: () => {
          const server = whoamiServer('s');
          server.server.setRequestHandler(PingRequestSchema, async () => {
            pings++;
            throw new McpError(-32603, 'busy, but alive');
          });
          return server;
        },
      },
    );
    await waitFor(() => pings >= 3, 'three health-check pings', 5_000, 5);
    expect(gw.logs.filter((l) => l.msg === RETRY)).toEqual([]);
    expect(gw.upstreams.attempts.get('s/primary')).toBe(1);
    const client = await gw.connect();
    expect(await callText(client, 's__whoami')).toBe('s');
  });

  it('counts forwarded calls that time out with no traffic (passive checks): calls stuck in one silence once, the next one again', async () => {
    const releases: (() => void)[] = [];
    gw = await memoryGateway(
      // no pings: only the calls tell; a call the server never answers times out after 50 ms
      { s: { restart: RESTART, requestTimeoutMs: 50, healthCheck: { intervalMs: 0, unhealthyThreshold: 2 } } },
      {
        s: () => {
          const server = whoamiServer('s');
          server.registerTool('hang', {}, () => new Promise((resolve) => releases.push(() => resolve({ content: [] }))));
          return server;
        },
      },
    );
    const client = await gw.connect();
    const hang = () => client.callTool({ name: 's__hang', arguments: {} }).catch((err: McpError) => err.message);
    const timedOut = 'MCP error -32001: server "s" did not answer tools/call within 50 ms';
    // three calls stuck together are one failure: degraded, not down
    expect(await Promise.all([hang(), hang(), hang()])).toEqual([timedOut, timedOut, timedOut]);
    const backend = () => gw!.core.registry.groupFor(undefined, 's')!.backends[0];
    expect(backend().health).toMatchObject({ state: 'degraded', consecutiveFailures: 1, reason: 'server "s" did not answer tools/call within 50 ms' });
    expect(await callText(client, 's__whoami')).toBe('s'); // a degraded backend still serves when it is the only one
    // an answer is a success, which starts the failure count again
    expect(backend().health).toMatchObject({ state: 'degraded', consecutiveFailures: 0, consecutiveSuccesses: 1 });
    await hang();
    expect(backend().health).toMatchObject({ state: 'degraded', consecutiveFailures: 1 });
    // a call sent after that failure is new evidence: two in a row, down, and the connection is given up
    await hang();
    const [lost] = await logLines(gw, RETRY, 1);
    expect(lost.err).toBe(`health check failed: 2 requests in a row got no answer and no traffic (last: server "s" did not answer tools/call within 50 ms)`);
    await waitFor(() => gw!.logs.filter((l) => l.msg === 'server connected').length === 2, 'the reconnect', 5_000, 5);
    expect(backend().health).toMatchObject({ state: 'healthy', consecutiveFailures: 0 });
    for (const release of releases) release();
  });

  it('probes the era once: a reconnect initializes at once, with the verdict the first probe gave', async () => {
    let probes = 0;
    let attempt = 0;
    gw = await memoryGateway(
      { s: { restart: RESTART } },
      {
        s: () => {
          const server = whoamiServer(`s#${++attempt}`, 's');
          server.server.setRequestHandler(z.object({ method: z.literal('server/discover') }), () => {
            probes++;
            throw new McpError(-32601, 'Method not found');
          });
          return server;
        },
      },
    );
    const { client } = await listening(gw);
    expect(await callText(client, 's__whoami')).toBe('s#1');
    await gw.upstreams.crash('s');
    await waitFor(async () => (await callText(client, 's__whoami').catch(() => '')) === 's#2', 'the reconnected server', 5_000, 5);
    expect(probes).toBe(1);
  });

  it("keeps a per-session server's era for the backend: a later session's upstream initializes without a probe", async () => {
    let probes = 0;
    gw = await memoryGateway(
      { s: { mode: 'per-session' } },
      {
        s: () => {
          const server = whoamiServer('s', 's');
          server.server.setRequestHandler(z.object({ method: z.literal('server/discover') }), () => {
            probes++;
            throw new McpError(-32601, 'Method not found');
          });
          return server;
        },
      },
    );
    for (const _session of [1, 2, 3]) expect(await callText(await gw.connect(), 's__whoami')).toBe('s');
    expect(probes).toBe(1);
  });
});
