/**
 * A 2026-07-28 server keeps no session, so the round trips of a call that needs the client's input
 * are requests of their own. Calls are balanced by weight (two conformance fixtures over HTTP per
 * server, equal weights: the smooth round-robin alternates).
 * - `fh`, `balancing.inputRounds` left at same-backend: each round goes back to the backend that
 *   asked, whose requestState may be its own to verify (each fixture signs with a key of its own).
 * - `fs`, `inputRounds: any-backend`: its fixtures share their signing key, and every round is
 *   balanced like any request, for an SDK v1 client (the gateway drives the rounds) and for an SDK
 *   v2 client pinned to 2026-07-28 (the client retries, through the gateway's sealed state).
 */
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { ElicitRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { parseBackendBody } from '../../gateway/admin/bodies';
import { connectModernGateway, type ModernConnection } from '../../gateway/client/connect-modern';
import { connectClient, disconnect, newMarker, startTestGateway, type TestGateway } from '../helpers/gateway';
import { requireCurrentBuild } from '../helpers/dist';
import { startFixtureHttp } from '../helpers/fixture-servers';
import { waitForNoProcesses } from '../helpers/processes';
import type { RemoteServer } from '../helpers/remote-servers';

jest.setTimeout(60_000);

let gw: TestGateway;
let fixtures: RemoteServer[] = [];
let client: Client;
let modern: ModernConnection | undefined;
const marker = newMarker();
const SHARED_KEY = 'the-key-both-fs-fixtures-sign-with-0123456789';

beforeAll(async () => {
  requireCurrentBuild(['test/conformance']);
  fixtures = [
    await startFixtureHttp(marker),
    await startFixtureHttp(marker),
    await startFixtureHttp(marker, SHARED_KEY),
    await startFixtureHttp(marker, SHARED_KEY),
  ];
  gw = await startTestGateway({ servers: { fh: { url: fixtures[0].url }, fs: { url: fixtures[2].url, balancing: { inputRounds: 'any-backend' } } } }, marker);
  await gw.registry.addBackend('fh', parseBackendBody({ id: 'twin', weight: 100, url: fixtures[1].url }, gw.registry.get('fh').config));
  await gw.registry.addBackend('fs', parseBackendBody({ id: 'twin', weight: 100, url: fixtures[3].url }, gw.registry.get('fs').config));
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
  await modern?.close();
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

it('balances every round like any request with inputRounds: any-backend, for clients of both eras', async () => {
  const before = gw.logs.length;
  const driven = await client.callTool({ name: 'fs__test_input_required_result_multi_round', arguments: {} });
  expect((driven.content as { text: string }[])[0].text).toBe('Ada likes teal');
  modern = await connectModernGateway(gw.url, {
    capabilities: { elicitation: {} },
    setup: (c) =>
      c.setRequestHandler('elicitation/create', async (r) => {
        const content: Record<string, string> = r.params.message.includes('color') ? { color: 'blue' } : { name: 'Grace' };
        return { action: 'accept', content };
      }),
  });
  const retried = await modern.client.callTool({ name: 'fs__test_input_required_result_multi_round', arguments: {} });
  expect((retried.content as { text: string }[])[0].text).toBe('Grace likes blue');
  const rounds = gw.logs.slice(before).filter((l) => l.msg === 'call' && l.server === 'fs');
  expect(rounds.map((l) => l.backend)).toEqual(['primary', 'twin', 'primary', 'twin', 'primary', 'twin']);
});
