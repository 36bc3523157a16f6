/**
 * The tap stage: each forwarded call's start and end reach the subscribers of the traffic events
 * (the admin debug stream) with server, backend, tool, trace and principal, the end with outcome
 * and duration; arguments and results only for a subscriber that asked for bodies.
 */
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { memoryGateway, type MemoryGateway } from '../../../test/helpers/memory-gateway';
import { callText } from '../../../test/helpers/memory-servers';
import { waitFor } from '../../../test/helpers/wait';

function echoServer(): McpServer {
  const server = new McpServer({ name: 'a', version: '1' });
  server.registerTool('hello', {}, async () => ({ content: [{ type: 'text', text: 'hi' }] }));
  return server;
}

/** A subscriber's lines, parsed. */
function listener(gw: MemoryGateway, bodies: boolean): { lines: Record<string, unknown>[]; stop: () => void } {
  const lines: Record<string, unknown>[] = [];
  const stop = gw.core.events.subscribe(
    { server: 'a', bodies },
    {
      write: (line) => lines.push(JSON.parse(line) as Record<string, unknown>) > 0,
      drop: () => {},
    },
  );
  return { lines, stop };
}

describe('the tap stage', () => {
  let gw: MemoryGateway | undefined;

  beforeAll(async () => {
    gw = await memoryGateway({ a: {} }, { a: echoServer });
  });

  afterAll(async () => {
    await gw?.stop();
  });

  it("publishes a call's start and end, with bodies only to a subscriber that asked for them", async () => {
    const plain = listener(gw!, false);
    const full = listener(gw!, true);
    try {
      const client = await gw!.connect();
      expect(await callText(client, 'a__hello', { note: 'x' })).toBe('hi');
      await waitFor(() => plain.lines.length === 2 && full.lines.length === 2, 'start and end at both subscribers', 5_000, 5);
      const fields = {
        server: 'a',
        backend: 'primary',
        method: 'tools/call',
        tool: 'hello',
        principal: 'anonymous:anonymous',
        trace: expect.stringMatching(/^[0-9a-f]{32}$/),
      };
      expect(plain.lines[0]).toEqual({ at: expect.any(String), type: 'call.start', ...fields, client: expect.any(String) });
      expect(plain.lines[1]).toEqual({
        at: expect.any(String),
        type: 'call.end',
        ...fields,
        client: expect.any(String),
        outcome: 'ok',
        ms: expect.any(Number),
      });
      expect(full.lines[0]).toMatchObject({ type: 'call.start', arguments: { note: 'x' } });
      expect(full.lines[1]).toMatchObject({ type: 'call.end', result: { content: [{ type: 'text', text: 'hi' }] } });
      expect(plain.lines[0].trace).toBe(plain.lines[1].trace);
    } finally {
      plain.stop();
      full.stop();
    }
  });
});
