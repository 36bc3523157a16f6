/**
 * A gateway behind a gateway (as the compose stack's bridges are): the inner gateway's /mcp answers
 * server/discover, so the outer one probes it and speaks 2026-07-28 to it, with no session. An SDK
 * v1 client on the outer gateway calls a 2025 server (server-everything) on the inner one and is
 * asked its elicitation: the inner gateway holds the call and answers input_required, the outer one
 * asks the client on its call's stream and retries with the answer, and the client sees one
 * ordinary call. Both halves of the translation, end to end, in one trace.
 */
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { ElicitRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { connectClient, disconnect, newMarker, startTestGateway, type TestGateway } from '../helpers/gateway';
import { waitForNoProcesses } from '../helpers/processes';
import { everything } from '../helpers/servers';

jest.setTimeout(60_000);

let inner: TestGateway;
let outer: TestGateway;
let client: Client;
const marker = newMarker();

beforeAll(async () => {
  inner = await startTestGateway({ servers: { ev: everything(marker) } }, marker);
  outer = await startTestGateway({ servers: { fleet: { url: `${inner.url}/mcp`, prefix: false } } }, marker);
  client = await connectClient(outer, 'streamable-http', {
    capabilities: { elicitation: {} },
    setup: (c) =>
      c.setRequestHandler(ElicitRequestSchema, async () => ({
        action: 'accept',
        content: { name: 'Ada', check: true, firstLine: 'It was a dark night', integer: 42, number: 3.14, enum: 'choice1' },
      })),
  });
});

afterAll(async () => {
  if (client) await disconnect(client);
  await outer?.stop();
  await inner?.stop();
  expect(await waitForNoProcesses(marker)).toEqual([]);
});

it('speaks 2026-07-28 to the inner gateway, which keeps no session for it', async () => {
  expect(outer.registry.groupFor(undefined, 'fleet')!.connections[0].era).toBe('modern');
  expect(await client.callTool({ name: 'ev__echo', arguments: { message: 'through two' } })).toMatchObject({
    content: [{ type: 'text', text: 'Echo: through two' }],
  });
  expect(inner.sessions.count).toBe(0);
  // one trace through both hops: the inner gateway continues the outer one's (traceparent in _meta)
  const outerCall = outer.logs.find((l) => l.msg === 'call' && l.method === 'tools/call');
  const innerCall = inner.logs.find((l) => l.msg === 'call' && l.method === 'tools/call');
  expect(innerCall?.trace).toBe(outerCall?.trace);
  expect(innerCall?.parent).toBe(outerCall?.span);
});

it("carries a 2025 server's elicitation two hops back to an SDK v1 client as one ordinary call", async () => {
  const result = await client.callTool({ name: 'ev__trigger-elicitation-request', arguments: {} });
  expect(JSON.stringify(result.content)).toContain('Ada');
  expect(result).not.toHaveProperty('resultType');
  expect(inner.held.size).toBe(0);
});
