/**
 * The lease stage: the picked backend gives the call the upstream session it goes on (without a
 * pool, its own) and holds it until the answer came, whatever the answer: what least-outstanding
 * balancing compares is the calls holding a lease now. (Pooled sessions of a Streamable HTTP server
 * are a real server's: test/gateway/session-pool.test.ts.)
 */
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { memoryGateway, type MemoryGateway } from '../../../test/helpers/memory-gateway';
import { deferred, rejection, textOf } from '../../../test/helpers/memory-servers';
import { waitFor } from '../../../test/helpers/wait';

function heldServer(releases: (() => void)[]): McpServer {
  const server = new McpServer({ name: 'a', version: '1' });
  server.registerTool('hold', {}, async () => {
    const go = deferred();
    releases.push(go.resolve);
    await go.promise;
    return { content: [{ type: 'text', text: 'held done' }] };
  });
  return server;
}

describe('the lease stage', () => {
  let gw: MemoryGateway | undefined;
  const releases: (() => void)[] = [];

  beforeAll(async () => {
    gw = await memoryGateway({ a: { requestTimeoutMs: 200 } }, { a: () => heldServer(releases) });
  });

  afterAll(async () => {
    for (const go of releases) go();
    await gw?.stop();
  });

  const backend = () => gw!.core.registry.groupFor(undefined, 'a')!.backend('primary')!;

  it('holds a lease per call at the upstream and gives it back with the answer', async () => {
    const client = await gw!.connect();
    const calls = [1, 2].map(() => client.callTool({ name: 'a__hold', arguments: {} }));
    await waitFor(() => releases.length === 2, 'both calls at the server', 5_000, 5);
    expect(backend().outstanding).toBe(2);
    for (const go of releases.splice(0)) go();
    expect((await Promise.all(calls)).map(textOf)).toEqual(['held done', 'held done']);
    expect(backend().outstanding).toBe(0);
  });

  it('gives the lease back when the call fails too', async () => {
    const client = await gw!.connect();
    expect((await rejection(client.callTool({ name: 'a__hold', arguments: {} }))).code).toBe(-32001);
    expect(backend().outstanding).toBe(0);
  });
});
