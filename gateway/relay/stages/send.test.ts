/**
 * The sending stage: requests go upstream under the gateway's own ids, with progress tokens
 * swapped for gateway-wide ones and mapped back; a client's cancellation reaches the upstream
 * and the client gets no answer; an upstream that does not answer in time is answered for.
 */
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { z } from 'zod';
import { memoryGateway, type MemoryGateway, type RawClient } from '../../../test/helpers/memory-gateway';
import { barrier, deferred } from '../../../test/helpers/memory-servers';

/** What the upstream saw of each call. */
interface Seen {
  requestId: unknown;
  progressToken: unknown;
  aborted: Promise<unknown>;
}

/**
 * `pair` answers once two calls are in flight (so both are at the upstream at once); `progress`
 * too, after reporting twice under the token it got; `hang` answers only when cancelled; `echo`
 * answers at once.
 */
function server(seen: Seen[], started: () => void): McpServer {
  const s = new McpServer({ name: 'a', version: '1' });
  const bothInFlight = barrier(2);
  const record = (extra: { requestId: unknown; _meta?: Record<string, unknown>; signal: AbortSignal }) => {
    const aborted = new Promise((resolve) => extra.signal.addEventListener('abort', () => resolve(extra.signal.reason)));
    seen.push({ requestId: extra.requestId, progressToken: extra._meta?.progressToken, aborted });
    started();
    return aborted;
  };
  s.registerTool('pair', { inputSchema: { who: z.string() } }, async ({ who }, extra) => {
    void record(extra);
    await bothInFlight();
    return { content: [{ type: 'text', text: `${who} (upstream id ${extra.requestId})` }] };
  });
  s.registerTool('progress', { inputSchema: { who: z.string() } }, async ({ who }, extra) => {
    void record(extra);
    await bothInFlight();
    const progressToken = extra._meta!.progressToken!;
    for (const progress of [1, 2])
      await extra.sendNotification({ method: 'notifications/progress', params: { progressToken, progress, total: 2, message: who } });
    return { content: [{ type: 'text', text: who }] };
  });
  s.registerTool('hang', {}, async (extra) => {
    await record(extra);
    return { content: [{ type: 'text', text: 'cancelled, and answered anyway' }] };
  });
  s.registerTool('echo', { inputSchema: { message: z.string() } }, async ({ message }) => ({ content: [{ type: 'text', text: message }] }));
  return s;
}

async function gateway(entry: Record<string, unknown> = {}) {
  const seen: Seen[] = [];
  let started = deferred();
  const gw = await memoryGateway({ a: entry }, { a: () => server(seen, () => started.resolve()) });
  const raw = async () => {
    const client = await gw.connectRaw();
    await client.initialize();
    return client;
  };
  /** Resolves when the upstream has started the next call. */
  const nextStart = () => {
    started = deferred();
    return started.promise;
  };
  return { gw, seen, raw, nextStart };
}

const call = (client: RawClient, id: number, name: string, args: Record<string, unknown>, meta?: Record<string, unknown>) =>
  client.request(id, 'tools/call', { name: `a__${name}`, arguments: args, ...(meta ? { _meta: meta } : {}) });

describe('the sending stage', () => {
  let gw: MemoryGateway | undefined;

  afterEach(() => gw?.stop());

  it('gives two clients using one request id on a shared upstream each their own answer', async () => {
    const a = await gateway();
    gw = a.gw;
    const [alice, bob] = [await a.raw(), await a.raw()];
    const [forAlice, forBob] = await Promise.all([call(alice, 7, 'pair', { who: 'alice' }), call(bob, 7, 'pair', { who: 'bob' })]);
    const [first, second] = a.seen.map((s) => s.requestId);
    expect(first).not.toBe(second);
    expect(forAlice).toEqual({ jsonrpc: '2.0', id: 7, result: { content: [{ type: 'text', text: `alice (upstream id ${first})` }] } });
    expect(forBob).toEqual({ jsonrpc: '2.0', id: 7, result: { content: [{ type: 'text', text: `bob (upstream id ${second})` }] } });
    expect(alice.responsesTo(7)).toHaveLength(1);
    expect(bob.responsesTo(7)).toHaveLength(1);
  });

  it('swaps progress tokens for gateway-wide ones and maps progress back to each client under its own token', async () => {
    const a = await gateway();
    gw = a.gw;
    const [alice, bob] = [await a.raw(), await a.raw()];
    await Promise.all([
      call(alice, 1, 'progress', { who: 'alice' }, { progressToken: 'mine' }),
      call(bob, 1, 'progress', { who: 'bob' }, { progressToken: 'mine' }),
    ]);
    const tokens = a.seen.map((s) => s.progressToken);
    expect(tokens).toEqual([expect.stringMatching(/^fleet-progress-\d+$/), expect.stringMatching(/^fleet-progress-\d+$/)]);
    expect(tokens[0]).not.toBe(tokens[1]);
    for (const [client, who] of [
      [alice, 'alice'],
      [bob, 'bob'],
    ] as const) {
      expect(client.notifications('notifications/progress')).toEqual([
        { progressToken: 'mine', progress: 1, total: 2, message: who },
        { progressToken: 'mine', progress: 2, total: 2, message: who },
      ]);
    }
    expect(gw.core.progress.size).toBe(0);
  });

  it('forwards a client cancellation as notifications/cancelled and answers the cancelled request never', async () => {
    const a = await gateway();
    gw = a.gw;
    const client = await a.raw();
    const started = a.nextStart();
    await client.send({ id: 5, method: 'tools/call', params: { name: 'a__hang', arguments: {} } });
    await started;
    await client.send({ method: 'notifications/cancelled', params: { requestId: 5, reason: 'user gave up' } });
    expect(await a.seen[0].aborted).toBe('user gave up');
    // One more round trip through the same upstream: any answer to 5 would have come before this one.
    expect(await call(client, 6, 'echo', { message: 'after' })).toMatchObject({ result: { content: [{ text: 'after' }] } });
    expect(client.responsesTo(5)).toEqual([]);
    expect(client.session.inFlightCount).toBe(0);
  });

  it('answers a call the upstream does not answer in time with UPSTREAM_TIMEOUT, and cancels it upstream', async () => {
    const a = await gateway({ requestTimeoutMs: 200 });
    gw = a.gw;
    const client = await a.raw();
    const answer = await call(client, 3, 'hang', {});
    expect(answer).toEqual({
      jsonrpc: '2.0',
      id: 3,
      error: { code: -32001, message: 'server "a" did not answer tools/call within 200 ms', data: { server: 'a', fleetCode: 'UPSTREAM_TIMEOUT' } },
    });
    expect(await a.seen[0].aborted).toBe('timed out in gateway');
    expect(gw.core.stats.window(3600).a.primary).toMatchObject({ calls: 1, errors: 1 });
    // The connection is still good: only the one request was given up.
    expect(await call(client, 4, 'echo', { message: 'still here' })).toMatchObject({ result: { content: [{ text: 'still here' }] } });
  });
});
