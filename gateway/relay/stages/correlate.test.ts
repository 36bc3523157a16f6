/**
 * The correlation stage: the request id a front bound to a call travels upstream in `_meta`
 * (mcp-fleet/request-id), and the call's log lines name it and the call's trace, so one id finds
 * the request in the gateway's log and the server's. (The X-Request-Id header it also sets is an
 * HTTP upstream's: see test/gateway/correlation.test.ts.)
 */
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { memoryGateway, type MemoryGateway } from '../../../test/helpers/memory-gateway';
import { logLines, textOf } from '../../../test/helpers/memory-servers';
import { waitFor } from '../../../test/helpers/wait';

/** A server whose `meta` tool answers the `_meta` its request arrived with. */
function metaServer(): McpServer {
  const server = new McpServer({ name: 'a', version: '1' });
  server.registerTool('meta', {}, async (extra) => ({ content: [{ type: 'text', text: JSON.stringify(extra._meta ?? {}) }] }));
  return server;
}

describe('the correlation stage', () => {
  let gw: MemoryGateway | undefined;

  beforeAll(async () => {
    gw = await memoryGateway({ a: {} }, { a: metaServer });
  });

  afterAll(async () => {
    await gw?.stop();
  });

  it('sends the bound request id upstream and names it and the trace on the call line', async () => {
    const raw = await gw!.connectRaw();
    await raw.initialize();
    raw.session.receive({ jsonrpc: '2.0', id: 7, method: 'tools/call', params: { name: 'a__meta', arguments: {} } }, 'req-correlate-7');
    const answer = await waitFor(() => raw.responsesTo(7)[0], 'the answer to the call', 10_000, 5);
    const meta = JSON.parse(textOf('result' in answer ? answer.result : undefined)) as Record<string, string>;
    expect(meta['mcp-fleet/request-id']).toBe('req-correlate-7');
    const trace = meta.traceparent.split('-')[1];
    const lines = await logLines(gw!, 'call', 1);
    expect(lines.find((l) => l.requestId === 'req-correlate-7')).toMatchObject({ trace, server: 'a', method: 'tools/call', outcome: 'ok' });
  });

  it('adds no request id to a call that came without one, and still names its trace', async () => {
    const client = await gw!.connect();
    const meta = JSON.parse(textOf(await client.callTool({ name: 'a__meta', arguments: {} }))) as Record<string, string>;
    expect(Object.keys(meta)).not.toContain('mcp-fleet/request-id');
    const trace = meta.traceparent.split('-')[1];
    await waitFor(() => gw!.logs.find((l) => l.msg === 'call' && l.trace === trace), 'the call line of that trace', 10_000, 5);
  });
});
