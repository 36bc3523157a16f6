/**
 * The concurrency stage: a server with `limits.maxConcurrent` has at most that many calls at the
 * upstream; the next ones wait in its queue (bounded by `maxQueued`) and go on as slots come free;
 * past the queue a call is refused at once with LIMIT_REACHED naming the setting, and the refusal
 * is counted. A server without the setting is not held back.
 */
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { memoryGateway, type MemoryGateway } from '../../../test/helpers/memory-gateway';
import { deferred, rejection, textOf } from '../../../test/helpers/memory-servers';
import { waitFor } from '../../../test/helpers/wait';

/** Calls of `hold` stay at the server until the test lets the oldest go; `running` and `most` say how many were there at once. */
function holdingServer(state: { running: number; most: number; releases: (() => void)[] }): McpServer {
  const server = new McpServer({ name: 'held', version: '1' });
  server.registerTool('hold', {}, async () => {
    state.running++;
    state.most = Math.max(state.most, state.running);
    const go = deferred();
    state.releases.push(go.resolve);
    await go.promise;
    state.running--;
    return { content: [{ type: 'text', text: 'held done' }] };
  });
  return server;
}

describe('the concurrency stage', () => {
  let gw: MemoryGateway | undefined;
  const limited = { running: 0, most: 0, releases: [] as (() => void)[] };
  const free = { running: 0, most: 0, releases: [] as (() => void)[] };

  beforeAll(async () => {
    gw = await memoryGateway({ a: { limits: { maxConcurrent: 1, maxQueued: 1 } }, b: {} }, { a: () => holdingServer(limited), b: () => holdingServer(free) });
  });

  afterAll(async () => {
    for (const go of [...limited.releases, ...free.releases]) go();
    await gw?.stop();
  });

  const scrape = async () => (await gw!.core.metrics.scrape()).body;

  it('keeps a second call in the queue until the first answered, and refuses a third past maxQueued', async () => {
    const client = await gw!.connect();
    const first = client.callTool({ name: 'a__hold', arguments: {} });
    await waitFor(() => limited.running === 1, 'the first call at the server', 5_000, 5);
    const second = client.callTool({ name: 'a__hold', arguments: {} });
    await waitFor(async () => (await scrape()).includes('mcp_gateway_queued_requests{server="a"} 1'), 'the second call in the queue', 5_000, 5);

    const third = await rejection(client.callTool({ name: 'a__hold', arguments: {} }));
    expect(third.code).toBe(-32600);
    expect(third.message).toMatch(/limits\.maxQueued 1/);
    expect(await scrape()).toContain('mcp_gateway_rate_limited_total{limit="maxQueued",server="a"} 1');

    limited.releases.shift()!();
    expect(textOf(await first)).toBe('held done');
    await waitFor(() => limited.releases.length === 1, 'the second call at the server', 5_000, 5);
    limited.releases.shift()!();
    expect(textOf(await second)).toBe('held done');
    expect(limited.most).toBe(1);
  });

  it('holds back no call of a server without maxConcurrent', async () => {
    const client = await gw!.connect();
    const calls = [1, 2, 3].map(() => client.callTool({ name: 'b__hold', arguments: {} }));
    await waitFor(() => free.running === 3, 'all three calls at the server', 5_000, 5);
    for (const go of free.releases.splice(0)) go();
    expect((await Promise.all(calls)).map(textOf)).toEqual(['held done', 'held done', 'held done']);
  });
});
