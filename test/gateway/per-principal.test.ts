/**
 * Tenant-pinned servers (`mode: per-principal`): one upstream per principal, shared by every
 * session and stateless request of that principal and by nobody else. A server that keeps client
 * data (here the scripted server's remember/recall, as a memory server's graph) then keeps each
 * principal's apart, which a shared server cannot (shown beside it). Real gateway, real upstream
 * processes, official SDK clients of both eras, API keys as the principals.
 */
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { ResourceUpdatedNotificationSchema, ToolListChangedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { connectGateway } from '../../gateway/client/connect';
import { connectModernGateway } from '../../gateway/client/connect-modern';
import { newMarker, startTestGateway, type TestGateway } from '../helpers/gateway';
import { processesWithMarker, waitForNoProcesses } from '../helpers/processes';
import { INITIALIZE_BODY, postRaw } from '../helpers/raw-http';
import { scripted } from '../helpers/scripted';
import { waitFor } from '../helpers/wait';
import { testSecret } from '../helpers/secret-values';

const KEYS = {
  alice: testSecret('alice-key-0123456789abcdefghijklmnopqrstuvwxyz'),
  bob: testSecret('bob-key-0123456789abcdefghijklmnopqrstuvwxyzab'),
  carol: testSecret('carol-key-0123456789abcdefghijklmnopqrstuvwxyz'),
};
const bearer = (who: keyof typeof KEYS) => ({ authorization: `Bearer ${KEYS[who]}` });
const text = (r: unknown) => (r as { content: { text: string }[] }).content[0].text;

describe('per-principal servers', () => {
  const marker = newMarker();
  const tenantMarker = newMarker();
  let gw: TestGateway;
  const closers: (() => Promise<void>)[] = [];

  async function session(who: keyof typeof KEYS): Promise<{ client: Client; close: () => Promise<void> }> {
    const c = await connectGateway(gw.url, 'streamable-http', { headers: bearer(who) });
    closers.push(c.close);
    return c;
  }

  beforeAll(async () => {
    gw = await startTestGateway(
      {
        auth: { apiKeys: { keys: Object.entries(KEYS).map(([name, key]) => ({ name, key })) } },
        limits: { principalIdleTimeoutMs: 300 },
        servers: {
          mem: {
            ...scripted(tenantMarker, ['--name', 'mem', '--tools', 'remember,recall,add_tool,touch', '--resources']),
            mode: 'per-principal',
            limits: { maxSessions: 2 },
          },
          common: scripted(marker, ['--name', 'common', '--tools', 'remember,recall']),
        },
      },
      marker,
    );
  });

  afterAll(async () => {
    await Promise.all(closers.map((c) => c().catch(() => {})));
    await gw?.stop();
    expect(await waitForNoProcesses(marker)).toEqual([]);
    expect(await waitForNoProcesses(tenantMarker)).toEqual([]);
  });

  it("keeps each principal's data on its own upstream, shared by all of that principal's sessions and stateless requests", async () => {
    const [alice1, alice2, bob] = [await session('alice'), await session('alice'), await session('bob')];
    const modernBob = await connectModernGateway(gw.url, { headers: bearer('bob') });
    closers.push(modernBob.close);

    await alice1.client.callTool({ name: 'mem__remember', arguments: { text: 'alice-secret' } });
    await modernBob.client.callTool({ name: 'mem__remember', arguments: { text: 'bob-note' } });
    await alice1.client.callTool({ name: 'common__remember', arguments: { text: 'alice-shared' } });

    expect(text(await alice2.client.callTool({ name: 'mem__recall', arguments: {} }))).toBe('alice-secret');
    expect(text(await bob.client.callTool({ name: 'mem__recall', arguments: {} }))).toBe('bob-note');
    // what a shared server holds is every client's: the reason per-principal exists
    expect(text(await bob.client.callTool({ name: 'common__recall', arguments: {} }))).toBe('alice-shared');

    expect(gw.registry.ownersOf('mem').sort((a, b) => String(a.tenant).localeCompare(String(b.tenant)))).toEqual([
      { tenant: 'api-key:alice' },
      { tenant: 'api-key:bob' },
    ]);
    expect(processesWithMarker(tenantMarker)).toHaveLength(2);
  });

  it("tells a principal's sessions, and only them, when its upstream's lists change", async () => {
    const [alice, bob] = [await session('alice'), await session('bob')];
    let aliceHeard = 0;
    let bobHeard = 0;
    alice.client.setNotificationHandler(ToolListChangedNotificationSchema, () => void aliceHeard++);
    bob.client.setNotificationHandler(ToolListChangedNotificationSchema, () => void bobHeard++);

    await alice.client.callTool({ name: 'mem__add_tool', arguments: { name: 'alice_only' } });
    await waitFor(() => aliceHeard > 0, 'alice heard tools/list_changed', 5_000);
    const names = async (c: Client) => (await c.listTools()).tools.map((t) => t.name);
    expect(await names(alice.client)).toContain('mem__alice_only');
    expect(await names(bob.client)).not.toContain('mem__alice_only');
    // bob's session hears nothing of alice's upstream (its own list call above went through after alice's change)
    expect(bobHeard).toBe(0);
  });

  it("subscribes each tenant's upstream on its own, and tells only that tenant's subscribers of an update", async () => {
    const [alice, bob] = [await session('alice'), await session('bob')];
    const updates = { alice: 0, bob: 0 };
    alice.client.setNotificationHandler(ResourceUpdatedNotificationSchema, () => void updates.alice++);
    bob.client.setNotificationHandler(ResourceUpdatedNotificationSchema, () => void updates.bob++);
    await alice.client.subscribeResource({ uri: 'test://r' });
    await bob.client.subscribeResource({ uri: 'test://r' });
    // each upstream heard its own subscribe (the second principal's was not answered by the gateway alone)
    expect(text(await bob.client.callTool({ name: 'mem__touch', arguments: {} }))).toBe('mem:touched 1');
    await waitFor(() => updates.bob === 1, 'bob heard the update of his upstream', 5_000);
    expect(text(await alice.client.callTool({ name: 'mem__touch', arguments: {} }))).toBe('mem:touched 1');
    await waitFor(() => updates.alice === 1, 'alice heard the update of hers', 5_000);
    expect(updates).toEqual({ alice: 1, bob: 1 });
  });

  it('refuses a principal past the server cap, naming the setting, and serves it again once a tenant left', async () => {
    const refused = await postRaw(`${gw.url}/mcp`, INITIALIZE_BODY, bearer('carol'));
    expect(refused.messages[0].error).toMatchObject({ code: -32600, data: { fleetCode: 'LIMIT_REACHED' } });
    expect(refused.messages[0].error.message).toMatch(/principals on per-principal server "mem".*servers\.mem\.limits\.maxSessions/);

    // bob's sessions end: after principalIdleTimeoutMs its upstream stops, and carol fits
    await Promise.all(closers.splice(0).map((c) => c()));
    await waitFor(() => gw.registry.ownersOf('mem').length === 0, 'idle tenants stopped', 10_000);
    expect(await waitForNoProcesses(tenantMarker)).toEqual([]);
    const carol = await session('carol');
    expect(text(await carol.client.callTool({ name: 'mem__recall', arguments: {} }))).toBe('');
    expect(gw.registry.ownersOf('mem')).toEqual([{ tenant: 'api-key:carol' }]);
  });

  it('holds a tenant for a stateless request with no session, and lets it go after the idle time', async () => {
    const modern = await connectModernGateway(gw.url, { headers: bearer('alice') });
    try {
      await modern.client.callTool({ name: 'mem__remember', arguments: { text: 'stateless' } });
      expect(text(await modern.client.callTool({ name: 'mem__recall', arguments: {} }))).toBe('stateless');
    } finally {
      await modern.close();
    }
    await waitFor(() => !gw.registry.ownersOf('mem').some((o) => o.tenant === 'api-key:alice'), "alice's idle upstream stopped", 10_000);
  });
});
