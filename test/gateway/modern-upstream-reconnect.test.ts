/**
 * A 2026-07-28 upstream over Streamable HTTP that goes away and comes back (the stateless counter
 * server, restarted on its port). Its listen stream breaks with it, so the gateway notices at once,
 * its tools leave; the reconnect discovers it again without another probe (the verdict is kept),
 * and the subscriptions clients hold are given back to the new listen stream.
 */
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { ResourceUpdatedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { connectClient, disconnect, newMarker, startTestGateway, type TestGateway } from '../helpers/gateway';
import { requireCurrentBuild } from '../helpers/dist';
import { startCounterHttp } from '../helpers/fixture-servers';
import { waitForNoProcesses } from '../helpers/processes';
import type { RemoteServer } from '../helpers/remote-servers';
import { waitFor } from '../helpers/wait';

jest.setTimeout(60_000);

let gw: TestGateway;
let counter: RemoteServer;
let client: Client;
const marker = newMarker();

beforeAll(async () => {
  requireCurrentBuild(['test/fixtures']);
  counter = await startCounterHttp(marker);
  gw = await startTestGateway({ servers: { mc: { url: counter.url, restart: { initialDelayMs: 100, maxDelayMs: 500 } } } }, marker);
  client = await connectClient(gw, 'streamable-http');
});

afterAll(async () => {
  if (client) await disconnect(client);
  await gw?.stop();
  await counter?.stop();
  expect(await waitForNoProcesses(marker)).toEqual([]);
});

it('notices the server gone by its listen stream, and when it is back rediscovers it without a probe and resubscribes', async () => {
  const updates: string[] = [];
  client.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => void updates.push(n.params.uri));
  await client.subscribeResource({ uri: 'test://counter' });
  const group = gw.registry.groupFor(undefined, 'mc')!;

  await counter.stop();
  await waitFor(() => group.state !== 'ready', 'the gateway to notice the server gone');
  await waitFor(async () => !(await client.listTools()).tools.some((t) => t.name === 'mc__bump'), 'its tools to leave');

  counter = await startCounterHttp(marker, counter.port);
  await waitFor(() => group.state === 'ready', 'the server to be back');
  // The subscription is given back as the server comes back, and a bump is heard once it holds: bump until then.
  await waitFor(async () => {
    await client.callTool({ name: 'mc__bump', arguments: {} });
    return updates.length > 0;
  }, 'an update, heard on the new listen stream');
  expect(gw.logs.filter((l) => l.server === 'mc' && l.msg === 'server speaks 2026-07-28')).toHaveLength(1);
  expect(gw.logs.filter((l) => l.server === 'mc' && l.msg === 'server connected')).toHaveLength(2);
});
