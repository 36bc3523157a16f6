/**
 * A legacy SSE upstream held to its server's limits like every other transport: a response nested
 * deeper than limits.maxDepth fails its call at once with an error naming the server, an event
 * longer than limits.maxMessageBytes is dropped without being kept (its call then times out), and
 * the connection stays: the next call is served. The upstream is a real gateway serving legacy SSE
 * in front of the scripted server, with limits of its own high enough to relay what it is asked.
 */
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { connectClient, disconnect, newMarker, startTestGateway, type TestGateway } from '../helpers/gateway';
import { waitForNoProcesses } from '../helpers/processes';
import { scripted } from '../helpers/scripted';

const MiB = 1024 * 1024;

describe('a hostile legacy SSE upstream', () => {
  const marker = newMarker();
  let upstream: TestGateway;
  let gw: TestGateway;
  let client: Client;

  beforeAll(async () => {
    upstream = await startTestGateway(
      {
        servers: { x: scripted(marker, ['--tools', 'echo,deep_result,huge_result'], { prefix: false, limits: { maxDepth: 2000, maxMessageBytes: 64 * MiB } }) },
      },
      marker,
    );
    gw = await startTestGateway(
      {
        servers: {
          bad: { url: `${upstream.url}/sse`, requestTimeoutMs: 3000, limits: { maxMessageBytes: MiB, maxDepth: 64 }, healthCheck: { intervalMs: 0 } },
        },
      },
      marker,
    );
    client = await connectClient(gw, 'streamable-http');
  }, 60_000);

  afterAll(async () => {
    await disconnect(client);
    await gw?.stop();
    await upstream?.stop();
    expect(await waitForNoProcesses(marker)).toEqual([]);
  });

  it('fails the call whose response nests deeper than the limit, naming the server, and serves the next', async () => {
    await expect(client.callTool({ name: 'bad__deep_result', arguments: { depth: 500 } })).rejects.toThrow(
      /server "bad" answered with a message the gateway refuses: .*deeper than the limit of 64 levels/,
    );
    expect(await client.callTool({ name: 'bad__echo', arguments: {} })).toMatchObject({ content: [{ text: expect.stringContaining('echo') }] });
  });

  it('drops an event longer than maxMessageBytes without keeping it, and reads on', async () => {
    await expect(client.callTool({ name: 'bad__huge_result', arguments: { bytes: 4 * MiB } })).rejects.toThrow(
      /server "bad" did not answer tools\/call within 3000 ms/,
    );
    expect(gw.logs.some((l) => String(l.err).includes('sent an event longer than its limit of 1048576 characters'))).toBe(true);
    expect(await client.callTool({ name: 'bad__echo', arguments: {} })).toMatchObject({ content: [{ text: expect.stringContaining('echo') }] });
  });
});
