/**
 * The tracing stage: the upstream request carries `_meta.traceparent` continuing the client's
 * W3C trace with the gateway's own span, or a new trace when the client sent none.
 */
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { memoryGateway, type MemoryGateway } from '../../../test/helpers/memory-gateway';
import { logLines } from '../../../test/helpers/memory-servers';

const CLIENT_TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const CLIENT_SPAN = '00f067aa0ba902b7';
const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

describe('the tracing stage', () => {
  let gw: MemoryGateway;
  /** The `_meta` of each call the upstream saw, in order. */
  const seen: Record<string, unknown>[] = [];

  beforeAll(async () => {
    gw = await memoryGateway(
      { a: {} },
      {
        a: () => {
          const server = new McpServer({ name: 'a', version: '1' });
          server.registerTool('meta', {}, async (extra) => {
            seen.push({ ...extra._meta });
            return { content: [{ type: 'text', text: 'ok' }] };
          });
          return server;
        },
      },
    );
  });

  afterAll(() => gw.stop());

  /** The `call` log line of the n-th forwarded call. */
  const callLine = async (n: number) => (await logLines(gw, 'call', n + 1))[n];

  it("continues the client's trace with a fresh span of the gateway's, keeping the client's other _meta keys", async () => {
    const client = await gw.connect();
    const before = seen.length;
    for (let i = 0; i < 2; i++)
      await client.callTool({ name: 'a__meta', arguments: {}, _meta: { traceparent: `00-${CLIENT_TRACE}-${CLIENT_SPAN}-01`, mine: 'kept' } });
    const [first, second] = seen.slice(before).map((meta) => {
      expect(meta.mine).toBe('kept');
      const [, trace, span, flags] = TRACEPARENT.exec(String(meta.traceparent))!;
      expect({ trace, flags }).toEqual({ trace: CLIENT_TRACE, flags: '01' });
      expect(span).not.toBe(CLIENT_SPAN);
      return span;
    });
    expect(first).not.toBe(second);
    expect(await callLine(before)).toMatchObject({ trace: CLIENT_TRACE, span: first, parent: CLIENT_SPAN, server: 'a', method: 'tools/call' });
  });

  it('starts a new trace, without a parent, when the client sent no traceparent', async () => {
    const client = await gw.connect();
    const before = seen.length;
    await client.callTool({ name: 'a__meta', arguments: {} });
    await client.callTool({ name: 'a__meta', arguments: {} });
    const traces = seen.slice(before).map((meta) => TRACEPARENT.exec(String(meta.traceparent))!);
    expect(traces[0][1]).not.toBe(traces[1][1]);
    expect(traces[0][1]).not.toBe(CLIENT_TRACE);
    const line = await callLine(before);
    expect(line).toMatchObject({ trace: traces[0][1], span: traces[0][2] });
    expect(line).not.toHaveProperty('parent');
  });
});
