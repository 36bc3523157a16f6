/**
 * A per-session binding whose backend stays down moves to another backend (a new upstream
 * session for it), transparently: meanwhile its session is still shown what the backend offered,
 * and after the move it hears list_changed only for the lists the new backend offers differently.
 * In memory, with a raw client that records every message in order (so that a list_changed that
 * never came is known: it would have come before the answer from the new backend).
 * test/gateway/session-failover.test.ts does the same with real processes.
 */
import { memoryGateway, type MemoryGateway, type RawClient } from '../../test/helpers/memory-gateway';
import { whoamiServer } from '../../test/helpers/memory-servers';
import { waitFor } from '../../test/helpers/wait';

const LIST_CHANGED = 'notifications/tools/list_changed';

describe('a per-session binding that fails over', () => {
  let gw: MemoryGateway | undefined;

  afterEach(() => gw?.stop());

  /** Two backends of per-session server `p`; the one in `down` cannot start; `extraOn` offers one more tool. */
  async function bound(entry: Record<string, unknown> = {}) {
    const down = new Set<string>();
    const fleet = { extraOn: undefined as string | undefined };
    const factory = (id: string) => () => {
      if (down.has(id)) throw new Error(`${id} cannot start`);
      const server = whoamiServer(id, 'p');
      if (fleet.extraOn === id) server.registerTool('extra', {}, () => ({ content: [] }));
      return server;
    };
    gw = await memoryGateway(
      { p: { mode: 'per-session', sessionFailoverMs: 300, restart: { initialDelayMs: 20, maxDelayMs: 50 }, ...entry } },
      { 'p/primary': factory('primary'), 'p/b': factory('b') },
    );
    const registry = gw.core.registry;
    await registry.addBackend('p', { id: 'b', weight: 100, config: registry.get('p').config });
    const client = await gw.connectRaw();
    await client.initialize();
    let id = 0;
    const whoami = async (): Promise<string | undefined> => {
      const reply = await client.request(`w${++id}`, 'tools/call', { name: 'p__whoami', arguments: {} });
      return 'result' in reply ? (reply.result.content as { text: string }[])[0].text : undefined;
    };
    const first = (await whoami())!;
    const other = first === 'primary' ? 'b' : 'primary';
    /** Kills the session's backend for good. */
    const kill = async () => {
      down.add(first);
      await gw!.upstreams.crash('p', first);
      await waitFor(async () => (await whoami()) === undefined, 'calls to fail while the backend is down', 5_000, 5);
    };
    return { client, whoami, first, other, fleet, kill };
  }

  const toolNames = async (client: RawClient, id: string) => {
    const reply = await client.request(id, 'tools/list');
    return 'result' in reply ? (reply.result.tools as { name: string }[]).map((t) => t.name).sort() : reply.error;
  };

  it('is still shown the tools while its backend is down, and hears nothing when the new backend offers the same', async () => {
    const { client, whoami, other, kill } = await bound();
    await kill();
    expect(await toolNames(client, 'during')).toEqual(['p__echo', 'p__whoami']);
    await waitFor(async () => (await whoami()) === other, 'the session to be served by the other backend', 5_000, 10);
    await gw!.waitForLog((l) => l.msg === 'backend stayed down: its session moves to another backend', 'the move');
    expect(client.notifications(LIST_CHANGED)).toEqual([]);
    expect(await toolNames(client, 'after')).toEqual(['p__echo', 'p__whoami']);
  });

  it('hears list_changed after the move when the new backend offers other tools', async () => {
    const { client, whoami, other, fleet, kill } = await bound();
    fleet.extraOn = other;
    await kill();
    await waitFor(async () => (await whoami()) === other, 'the session to be served by the other backend', 5_000, 10);
    expect(client.notifications(LIST_CHANGED)).toEqual([{}]);
    expect(await toolNames(client, 'after')).toEqual(['p__echo', 'p__extra', 'p__whoami']);
  });

  it('hears at once that the tools are gone when it cannot fail over (sessionFailoverMs: 0)', async () => {
    const { client, kill } = await bound({ sessionFailoverMs: 0 });
    await kill();
    await waitFor(() => client.notifications(LIST_CHANGED).length === 1, 'list_changed as the tools leave', 5_000, 5);
    expect(await toolNames(client, 'during')).toEqual([]);
  });
});
