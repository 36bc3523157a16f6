/**
 * The timeout stage: a forwarded tool call may take as long as its tool's own limit
 * (`servers.X.timeouts.tools`), else `defaultMs`, else the server's requestTimeoutMs; past it the
 * client is told which tool and which setting, and the call is cancelled at the server.
 */
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { memoryGateway, type MemoryGateway } from '../../../test/helpers/memory-gateway';
import { callText, deferred, rejection } from '../../../test/helpers/memory-servers';
import { waitFor } from '../../../test/helpers/wait';

/** `stuck` and `slow` answer only once the test lets them (or never); each remembers whether its call was cancelled. */
function heldTools(cancelled: string[], release: Promise<void>): McpServer {
  const server = new McpServer({ name: 'a', version: '1' });
  for (const tool of ['stuck', 'slow'])
    server.registerTool(tool, {}, async (extra) => {
      extra.signal.addEventListener('abort', () => cancelled.push(tool));
      await release;
      return { content: [{ type: 'text', text: `${tool} done` }] };
    });
  server.registerTool('quick', {}, async () => ({ content: [{ type: 'text', text: 'quick done' }] }));
  return server;
}

describe('the timeout stage', () => {
  let gw: MemoryGateway | undefined;
  const release = deferred();
  const cancelled: string[] = [];

  beforeAll(async () => {
    gw = await memoryGateway({ a: { timeouts: { defaultMs: 150, tools: { stuck: 100 } } } }, { a: () => heldTools(cancelled, release.promise) });
  });

  afterAll(async () => {
    release.resolve();
    await gw?.stop();
  });

  it("fails a tool call past the tool's own limit naming the tool and the setting, and cancels it upstream", async () => {
    const client = await gw!.connect();
    const err = await rejection(client.callTool({ name: 'a__stuck', arguments: {} }));
    expect(err.code).toBe(-32001);
    expect(err.message).toBe(
      'MCP error -32001: tool "stuck" of server "a" did not finish within 100 ms (servers.a.timeouts.tools.stuck); the gateway cancelled it upstream',
    );
    expect(err.data).toMatchObject({ server: 'a', tool: 'stuck', timeoutMs: 100 });
    await waitFor(() => cancelled.includes('stuck'), 'the server to hear the cancellation', 5_000, 5);
  });

  it('takes defaultMs for a tool without a limit of its own', async () => {
    const client = await gw!.connect();
    const err = await rejection(client.callTool({ name: 'a__slow', arguments: {} }));
    expect(err.message).toBe(
      'MCP error -32001: tool "slow" of server "a" did not finish within 150 ms (servers.a.timeouts.defaultMs); the gateway cancelled it upstream',
    );
    await waitFor(() => cancelled.includes('slow'), 'the server to hear the cancellation', 5_000, 5);
  });

  it('leaves a call that answers within its limit alone', async () => {
    const client = await gw!.connect();
    expect(await callText(client, 'a__quick')).toBe('quick done');
  });
});
