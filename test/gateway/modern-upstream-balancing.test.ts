/**
 * A 2026-07-28 server keeps no session, so the round trips of a call that needs an SDK v1 client's
 * input are requests of their own. Calls are balanced by weight (two conformance fixtures over
 * HTTP, equal weights: the smooth round-robin alternates); each round goes back to the backend
 * that asked, whose requestState may be its own to verify (each fixture signs with a key of its own).
 */
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { ElicitRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { parseBackendBody } from '../../gateway/admin/bodies';
import { connectClient, disconnect, newMarker, startTestGateway, type TestGateway } from '../helpers/gateway';
import { requireCurrentBuild } from '../helpers/dist';
import { startFixtureHttp } from '../helpers/fixture-servers';
import { waitForNoProcesses } from '../helpers/processes';
import type { RemoteServer } from '../helpers/remote-servers';

jest.setTimeout(60_000);

let gw: TestGateway;
let fixtures: RemoteServer[] = [];
let client: Client;
const marker = newMarker();

beforeAll(async () => {
  requireCurrentBuild(['test/conformance']);
  fixtures = [await startFixtureHttp(marker), await startFixtureHttp(marker)];
  gw = await startTestGateway({ servers: { fh: { url: fixtures[0].url } } }, marker);
  await gw.registry.addBackend('fh', parseBackendBody({ id: 'twin', weight: 100, url: fixtures[1].url }, gw.registry.get('fh').config));
  client = await connectClient(gw, 'streamable-http', {
    capabilities: { elicitation: {} },
    setup: (c) =>
      c.setRequestHandler(ElicitRequestSchema, async (r) => ({
        action: 'accept',
        content: r.params.message.includes('color') ? { color: 'teal' } : { name: 'Ada' },
      })),
  });
});

afterAll(async () => {
  if (client) await disconnect(client);
  await gw?.stop();
  for (const f of fixtures) await f.stop();
  expect(await waitForNoProcesses(marker)).toEqual([]);
});

it('balances calls by weight, and sends each round of a call to the backend that asked', async () => {
  const before = gw.logs.length;
  for (const _call of [1, 2]) {
    const result = await client.callTool({ name: 'fh__test_input_required_result_multi_round', arguments: {} });
    expect((result.content as { text: string }[])[0].text).toBe('Ada likes teal');
  }
  const rounds = gw.logs.slice(before).filter((l) => l.msg === 'call' && l.server === 'fh');
  expect(rounds.map((l) => l.backend)).toEqual(['primary', 'primary', 'primary', 'twin', 'twin', 'twin']);
});
