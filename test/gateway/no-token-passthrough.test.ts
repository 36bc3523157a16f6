/**
 * No token passthrough (MCP authorization spec): a client's credential ends at the gateway. The
 * upstream here is a second gateway that takes both the client's key and the outer gateway's own
 * key, and names on its call lines whichever it was given: every call reaches it as the outer
 * gateway's principal (its configured header), never as the client's, over both protocol eras.
 */
import { connectGateway } from '../../gateway/client/connect';
import { newMarker, startTestGateway, type TestGateway } from '../helpers/gateway';
import { waitForNoProcesses } from '../helpers/processes';
import { scripted } from '../helpers/scripted';
import { testSecret } from '../helpers/secret-values';

const CLIENT_KEY = testSecret('client-key-0123456789abcdefghijklmnopqrstuvwxyz');
const UPSTREAM_KEY = testSecret('upstream-key-0123456789abcdefghijklmnopqrstuvw');
const marker = newMarker();
let inner: TestGateway;
let outer: TestGateway;

beforeAll(async () => {
  const keys = [
    { name: 'client', key: CLIENT_KEY },
    { name: 'outer-gateway', key: UPSTREAM_KEY },
  ];
  inner = await startTestGateway({ auth: { apiKeys: { keys } }, servers: { s: scripted(marker, ['--tools', 'echo']) } }, marker);
  outer = await startTestGateway(
    {
      auth: { apiKeys: { keys: [{ name: 'client', key: CLIENT_KEY }] } },
      servers: {
        legacy: { url: `${inner.url}/mcp`, protocol: '2025-11-25', headers: { Authorization: `Bearer ${UPSTREAM_KEY}` } },
        modern: { url: `${inner.url}/mcp`, protocol: '2026-07-28', headers: { Authorization: `Bearer ${UPSTREAM_KEY}` } },
      },
    },
    marker,
  );
});

afterAll(async () => {
  await outer?.stop();
  await inner?.stop();
  expect(await waitForNoProcesses(marker)).toEqual([]);
});

it("sends upstream the gateway's own credential, never the client's", async () => {
  const { client, close } = await connectGateway(outer.url, 'streamable-http', { headers: { authorization: `Bearer ${CLIENT_KEY}` } });
  try {
    for (const name of ['legacy__s__echo', 'modern__s__echo']) expect((await client.callTool({ name, arguments: {} })).isError).toBeFalsy();
  } finally {
    await close();
  }
  const principals = inner.logs.filter((l) => l.msg === 'call').map((l) => l.principal);
  expect(principals.length).toBeGreaterThanOrEqual(2);
  expect(new Set(principals)).toEqual(new Set(['api-key:outer-gateway']));
  expect(outer.logs.filter((l) => l.msg === 'call' && l.method === 'tools/call').map((l) => l.principal)).toEqual(['api-key:client', 'api-key:client']);
});
