/**
 * The breaker stage: the picked backend's circuit breaker counts the upstream faults of the call
 * (here: the gateway gave up waiting, requestTimeoutMs) and nothing the live server answered (a
 * JSON-RPC error of its own, a tool's isError); once open, calls are refused at once with
 * CIRCUIT_OPEN and the server is not asked.
 */
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import { memoryGateway, type MemoryGateway } from '../../../test/helpers/memory-gateway';
import { callText, deferred, rejection } from '../../../test/helpers/memory-servers';

/** `ok` answers, `fails` reports the tool's failure, the prompt `refused` is the server's own JSON-RPC error, `stuck` answers only when the test ends. */
function faultyServer(reached: string[], release: Promise<void>): McpServer {
  const server = new McpServer({ name: 'a', version: '1' });
  server.registerTool('ok', {}, async () => {
    reached.push('ok');
    return { content: [{ type: 'text', text: 'ok done' }] };
  });
  server.registerTool('fails', {}, async () => {
    throw new Error('the tool ran and failed');
  });
  server.registerPrompt('refused', {}, async () => {
    throw new McpError(-32603, 'the server cannot make this prompt');
  });
  server.registerTool('stuck', {}, async () => {
    await release;
    return { content: [] };
  });
  return server;
}

describe('the breaker stage', () => {
  let gw: MemoryGateway | undefined;
  const reached: string[] = [];
  const release = deferred();

  beforeAll(async () => {
    gw = await memoryGateway(
      { a: { requestTimeoutMs: 100, breaker: { consecutive: 2, halfOpenAfterMs: 600_000 } } },
      { a: () => faultyServer(reached, release.promise) },
    );
  });

  afterAll(async () => {
    release.resolve();
    await gw?.stop();
  });

  it("does not count the server's own errors, opens after two timeouts in a row, then refuses without asking the server", async () => {
    const client = await gw!.connect();
    for (let i = 0; i < 3; i++) {
      expect((await rejection(client.getPrompt({ name: 'a__refused' }))).code).toBe(-32603);
      expect((await client.callTool({ name: 'a__fails', arguments: {} })).isError).toBe(true);
    }
    expect(await callText(client, 'a__ok')).toBe('ok done');

    for (let i = 0; i < 2; i++) expect((await rejection(client.callTool({ name: 'a__stuck', arguments: {} }))).code).toBe(-32001);
    const open = await rejection(client.callTool({ name: 'a__ok', arguments: {} }));
    expect(open.code).toBe(-32000);
    expect(open.data).toMatchObject({ fleetCode: 'CIRCUIT_OPEN', retryAfterMs: expect.any(Number) });
    expect(reached).toEqual(['ok']);
  });
});
