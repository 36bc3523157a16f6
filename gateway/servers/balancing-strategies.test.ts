/**
 * The balancing strategies through the in-memory gateway: least outstanding requests sends new
 * calls away from a backend busy with one, and session affinity keeps each 2025 session on one
 * backend until that one goes away.
 */
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { memoryGateway, type MemoryGateway } from '../../test/helpers/memory-gateway';
import { callText, deferred } from '../../test/helpers/memory-servers';
import { waitFor } from '../../test/helpers/wait';

/** A server that says which backend answered, with a `hold` tool that answers when the test lets it. */
function holdingServer(label: string, arrived: () => void, release: Promise<void>): McpServer {
  const server = new McpServer({ name: 's', version: '1.0.0' });
  server.registerTool('whoami', {}, async () => ({ content: [{ type: 'text', text: label }] }));
  server.registerTool('hold', {}, async () => {
    arrived();
    await release;
    return { content: [{ type: 'text', text: `${label} held` }] };
  });
  return server;
}

describe('balancing strategies', () => {
  let gw: MemoryGateway | undefined;

  afterEach(() => gw?.stop());

  /** Two equal backends; a crashed one reconnects only after 10 s, longer than any test here takes. */
  async function twoBackends(balancing: Record<string, unknown>, arrived = () => {}, release = Promise.resolve()) {
    gw = await memoryGateway(
      { s: { balancing, restart: { initialDelayMs: 10_000, maxDelayMs: 10_000 } } },
      {
        's/primary': () => holdingServer('primary', arrived, release),
        's/green': () => holdingServer('green', arrived, release),
      },
    );
    const registry = gw.core.registry;
    await registry.addBackend('s', { id: 'green', weight: 100, config: registry.get('s').config });
    return registry.groupFor(undefined, 's')!;
  }

  it('least-outstanding: sends calls to the idle backend while the other holds one', async () => {
    const arrived = deferred();
    const release = deferred();
    const group = await twoBackends({ strategy: 'least-outstanding' }, arrived.resolve, release.promise);
    await waitFor(() => group.backend('green')!.ready, 'green ready', 5_000, 5);
    const client = await gw!.connect();
    const held = callText(client, 's__hold');
    await arrived.promise;
    const busy = group.backends.find((b) => b.outstanding === 1)!.id;
    const served: string[] = [];
    for (let i = 0; i < 4; i++) served.push(await callText(client, 's__whoami'));
    expect(served).toEqual(Array(4).fill(busy === 'primary' ? 'green' : 'primary'));
    release.resolve();
    expect(await held).toBe(`${busy} held`);
    // idle again: both share the calls by weight
    const idle = new Set<string>();
    for (let i = 0; i < 4; i++) idle.add(await callText(client, 's__whoami'));
    expect([...idle].sort()).toEqual(['green', 'primary']);
  });

  it('session affinity: keeps each 2025 session on one backend, and moves it only when that one goes', async () => {
    const group = await twoBackends({ affinity: 'session' });
    await waitFor(() => group.backend('green')!.ready, 'green ready', 5_000, 5);
    const clients = await Promise.all([gw!.connect(), gw!.connect(), gw!.connect(), gw!.connect()]);
    const homes: string[] = [];
    for (const client of clients) {
      const served = new Set<string>();
      for (let i = 0; i < 5; i++) served.add(await callText(client, 's__whoami'));
      expect(served.size).toBe(1);
      homes.push([...served][0]);
    }
    const moving = clients[0];
    const home = homes[0];
    const other = home === 'primary' ? 'green' : 'primary';
    await gw!.upstreams.crash('s', home);
    await waitFor(() => !group.backend(home)!.ready, `${home} down`, 5_000, 5);
    const served = new Set<string>();
    for (let i = 0; i < 3; i++) served.add(await callText(moving, 's__whoami'));
    expect([...served]).toEqual([other]);
    // the sessions that lived on the other backend did not move
    for (const [i, client] of clients.entries()) if (homes[i] === other) expect(await callText(client, 's__whoami')).toBe(other);
  });
});
