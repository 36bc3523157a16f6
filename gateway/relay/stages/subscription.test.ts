/**
 * The subscription stage on a shared server: many clients subscribing to one URI cost the upstream
 * one subscribe, resource updates reach only the clients subscribed to that URI, the last
 * unsubscribe (or the last subscriber leaving) is forwarded, and a reconnected upstream gets back
 * the subscriptions clients still hold.
 */
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { McpServer, ResourceTemplate } from '@modelcontextprotocol/sdk/server/mcp.js';
import { ResourceUpdatedNotificationSchema, SubscribeRequestSchema, UnsubscribeRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { memoryGateway, type MemoryGateway } from '../../../test/helpers/memory-gateway';
import { waitFor } from '../../../test/helpers/wait';

const DOC = 'mem://a/doc';
const ITEM = 'mem://a/items/1';

describe('the subscription stage on a shared server', () => {
  let gw: MemoryGateway;
  /** What each upstream (one per connection attempt) heard, in order. */
  const heard: string[][] = [];
  const servers: McpServer[] = [];
  const updates = new Map<Client, string[]>();
  let alice: Client;
  let bob: Client;
  let carol: Client;

  const factory = () => {
    const log: string[] = [];
    heard.push(log);
    const server = new McpServer({ name: 'a', version: '1' }, { capabilities: { resources: { subscribe: true } } });
    server.registerResource('doc', DOC, {}, async (uri) => ({ contents: [{ uri: uri.href, text: 'doc' }] }));
    server.registerResource('item', new ResourceTemplate('mem://a/items/{id}', { list: undefined }), {}, async (uri) => ({
      contents: [{ uri: uri.href, text: 'item' }],
    }));
    server.server.setRequestHandler(SubscribeRequestSchema, async (r) => (log.push(`subscribe ${r.params.uri}`), {}));
    server.server.setRequestHandler(UnsubscribeRequestSchema, async (r) => (log.push(`unsubscribe ${r.params.uri}`), {}));
    servers.push(server);
    return server;
  };

  const connect = async () => {
    const seen: string[] = [];
    const client = await gw.connect({ setup: (c) => c.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => void seen.push(n.params.uri)) });
    updates.set(client, seen);
    return client;
  };
  const updated = async (...uris: string[]) => {
    for (const uri of uris) await servers.at(-1)!.server.sendResourceUpdated({ uri });
  };
  const updatesOf = (client: Client) => updates.get(client)!;

  beforeAll(async () => {
    gw = await memoryGateway({ a: { restart: { initialDelayMs: 20, maxDelayMs: 50 } } }, { a: factory });
    [alice, bob, carol] = [await connect(), await connect(), await connect()];
  });

  afterAll(() => gw.stop());

  it('subscribes the upstream once for two clients, and sends updates only to subscribers of the URI', async () => {
    await alice.subscribeResource({ uri: DOC });
    await bob.subscribeResource({ uri: DOC });
    await carol.subscribeResource({ uri: ITEM });
    expect(heard[0]).toEqual([`subscribe ${DOC}`, `subscribe ${ITEM}`]);
    // The updates arrive in the order sent: carol's second ITEM shows she got no DOC between.
    await updated(ITEM, DOC, ITEM);
    await waitFor(() => updatesOf(alice).length && updatesOf(bob).length && updatesOf(carol).length === 2, 'the updates', 5_000, 5);
    expect([updatesOf(alice), updatesOf(bob), updatesOf(carol)]).toEqual([[DOC], [DOC], [ITEM, ITEM]]);
  });

  it('gives a reconnected upstream the subscriptions clients hold', async () => {
    await gw.upstreams.crash('a');
    await waitFor(() => heard[1]?.length === 2, 'the subscriptions restored', 5_000, 5);
    expect([...heard[1]].sort()).toEqual([`subscribe ${DOC}`, `subscribe ${ITEM}`]);
  });

  it('answers all but the last unsubscribe itself, and forwards the last', async () => {
    await alice.unsubscribeResource({ uri: DOC });
    expect(heard[1]).toHaveLength(2);
    await updated(DOC, ITEM);
    await waitFor(() => updatesOf(bob).length === 2 && updatesOf(carol).length === 3, 'the updates', 5_000, 5);
    expect(updatesOf(alice)).toEqual([DOC]);
    await bob.unsubscribeResource({ uri: DOC });
    expect(heard[1].slice(2)).toEqual([`unsubscribe ${DOC}`]);
  });

  it('unsubscribes the upstream when the last subscriber leaves', async () => {
    await carol.close();
    await waitFor(() => heard[1].includes(`unsubscribe ${ITEM}`), 'the unsubscribe of the leaving client', 5_000, 5);
  });
});

describe('a subscription the upstream refuses', () => {
  it('is not kept: the next client to subscribe is forwarded, and only it gets updates', async () => {
    let refuse = true;
    const heard: string[] = [];
    let server!: McpServer;
    const gw = await memoryGateway(
      { a: {} },
      {
        a: () => {
          server = new McpServer({ name: 'a', version: '1' }, { capabilities: { resources: { subscribe: true } } });
          server.registerResource('doc', DOC, {}, async (uri) => ({ contents: [{ uri: uri.href, text: 'doc' }] }));
          server.server.setRequestHandler(SubscribeRequestSchema, async (r) => {
            heard.push(`subscribe ${r.params.uri}`);
            if (refuse) throw new Error('not now');
            return {};
          });
          return server;
        },
      },
    );
    try {
      const updates: Record<string, string[]> = { alice: [], bob: [] };
      const connect = (who: string) =>
        gw.connect({ setup: (c) => c.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => void updates[who].push(n.params.uri)) });
      const [alice, bob] = [await connect('alice'), await connect('bob')];
      await expect(alice.subscribeResource({ uri: DOC })).rejects.toMatchObject({ message: 'MCP error -32603: not now' });
      refuse = false;
      await bob.subscribeResource({ uri: DOC });
      expect(heard).toEqual([`subscribe ${DOC}`, `subscribe ${DOC}`]);
      await server.server.sendResourceUpdated({ uri: DOC });
      await waitFor(() => updates.bob.length, "bob's update", 5_000, 5);
      // One more round trip on the same upstream: an update for alice would have come before its answer.
      await alice.readResource({ uri: DOC });
      expect(updates).toEqual({ alice: [], bob: [DOC] });
    } finally {
      await gw.stop();
    }
  });
});
