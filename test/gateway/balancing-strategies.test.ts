/**
 * The balancing strategies with real parts: a real gateway in front of real scripted server
 * processes (test/fixtures/scripted-server.ts), one per backend, each started with `--name` its
 * backend id so that every echo answer says which backend served it, and further backends added
 * through the admin API. Clients are the official SDK client over the network fronts, and raw
 * 2026-07-28 requests (no session).
 * - `least-outstanding`: while backends are busy with slow calls (`sleep`, seen running on one
 *   backend by the `sleeping <id>` line of its stderr), new calls of both eras go to the idle one;
 *   once the slow calls are cancelled, calls spread over every backend again.
 * - `affinity: session`: every call of one 2025 session goes to one backend, different sessions
 *   land on different backends, a 2026-07-28 request is balanced by weight and not pinned, and
 *   when a backend dies (the `crash` tool exits its process) or is removed, its sessions move and
 *   every other session stays where it was.
 */
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { NETWORK_FRONTS } from '../../gateway/client/connect';
import type { ServerGroup } from '../../gateway/servers/group';
import { admin, startAdminGateway } from '../helpers/admin';
import { requireCurrentBuild } from '../helpers/dist';
import { connectClient, disconnect, newMarker, type TestGateway } from '../helpers/gateway';
import type { LogLine } from '../helpers/log-lines';
import { waitForNoProcesses } from '../helpers/processes';
import { modernRequest, postModern } from '../helpers/raw-modern';
import { scripted, sleeping } from '../helpers/scripted';
import { waitFor } from '../helpers/wait';

jest.setTimeout(60_000);

const serverArgs = (id: string) => ['--tools', 'echo,sleep,crash', '--name', id];

/** A gateway serving `server` from the config's backend (`primary`) and `added`, each a scripted process of equal weight. */
async function startFleet(marker: string, server: string, settings: Record<string, unknown>, added: readonly string[]): Promise<TestGateway> {
  const gw = await startAdminGateway(marker, { [server]: scripted(marker, serverArgs('primary'), settings) });
  for (const id of added) {
    const { command, args, env } = scripted(marker, serverArgs(id));
    const reply = await admin(gw, 'POST', `/admin/servers/${server}/backends`, { body: { id, command, args, env, weight: 100 } });
    expect(reply).toMatchObject({ status: 201, body: { state: 'ready' } });
  }
  return gw;
}

/** The backend that served one echo call of `client` (its answer starts with the backend's name). */
async function answerer(client: Client, server: string): Promise<string> {
  const r = await client.callTool({ name: `${server}__echo`, arguments: {} });
  return (r.content as { text: string }[])[0].text.split(':')[0];
}

/** The backend that served one 2026-07-28 echo request, sent without a session. */
async function modernAnswerer(gw: TestGateway, server: string, id: number): Promise<string> {
  const r = await postModern(`${gw.url}/mcp`, modernRequest(id, 'tools/call', { name: `${server}__echo`, arguments: {} }));
  return String(r.messages[0]?.result?.content?.[0]?.text ?? JSON.stringify(r.messages)).split(':')[0];
}

/** The backends that served `count` echo calls of `client`. */
async function answerers(client: Client, server: string, count: number): Promise<Set<string>> {
  const served = new Set<string>();
  for (let i = 0; i < count; i++) served.add(await answerer(client, server));
  return served;
}

beforeAll(() => requireCurrentBuild(['test/fixtures']));

describe('least-outstanding over three real backends', () => {
  const marker = newMarker();
  let gw: TestGateway;
  let client: Client;
  let group: ServerGroup;

  beforeAll(async () => {
    gw = await startFleet(marker, 'lo', { balancing: { strategy: 'least-outstanding' } }, ['green', 'red']);
    group = gw.registry.groupFor(undefined, 'lo')!;
    client = await connectClient(gw, 'streamable-http');
  });

  afterAll(async () => {
    if (client) await disconnect(client);
    await gw?.stop();
    expect(await waitForNoProcesses(marker)).toEqual([]);
  });

  /** Starts a `sleep` call that runs until aborted; resolves with the backend it runs on, once it runs there. */
  async function holdOne(abort: AbortController): Promise<{ backend: string; call: Promise<unknown> }> {
    const from = gw.logs.length;
    const call = client.callTool({ name: 'lo__sleep', arguments: { ms: 600_000 } }, undefined, { signal: abort.signal, timeout: 600_000 });
    const line = await gw.waitForLog(sleeping('lo'), 'a slow call to run on a backend', { from });
    return { backend: String(line.backend), call };
  }

  it('sends new calls of both eras to the idle backend while the others are busy, and spreads them again once they are free', async () => {
    const abort = new AbortController();
    const first = await holdOne(abort);
    const second = await holdOne(abort);
    // the second slow call already avoided the busy backend
    expect(second.backend).not.toBe(first.backend);
    const idle = ['primary', 'green', 'red'].find((id) => id !== first.backend && id !== second.backend)!;
    expect(group.backends.map((b) => [b.id, b.outstanding])).toEqual(['primary', 'green', 'red'].map((id) => [id, id === idle ? 0 : 1]));

    expect(await answerers(client, 'lo', 6)).toEqual(new Set([idle]));
    const modern = [];
    for (let id = 1; id <= 3; id++) modern.push(await modernAnswerer(gw, 'lo', id));
    expect(modern).toEqual([idle, idle, idle]);

    const from = gw.logs.length;
    abort.abort('done');
    await expect(first.call).rejects.toThrow();
    await expect(second.call).rejects.toThrow();
    // free for real: both servers stopped the calls they were told were cancelled, and the gateway counts none in flight
    const cancelled = (l: LogLine) => l.server === 'lo' && l.stream === 'stderr' && String(l.msg).startsWith('cancelled ');
    await waitFor(() => gw.logs.slice(from).filter(cancelled).length === 2, 'both slow calls to be cancelled upstream');
    await waitFor(() => group.backends.every((b) => b.outstanding === 0), 'the cancelled calls to settle');
    expect(await answerers(client, 'lo', 6)).toEqual(new Set(['primary', 'green', 'red']));
  });
});

describe('session affinity over four real backends', () => {
  const marker = newMarker();
  const ALL = ['primary', 'green', 'red', 'yellow'];
  let gw: TestGateway;
  let group: ServerGroup;
  const clients: Client[] = [];
  /** Where each client's session went, by its index in `clients`. */
  let homes: string[] = [];

  /** The one backend each session's calls go to now (fails if a session's calls went to two). */
  async function currentHomes(): Promise<string[]> {
    const out: string[] = [];
    for (const client of clients) {
      const served = await answerers(client, 'aff', 4);
      expect(served.size).toBe(1);
      out.push([...served][0]);
    }
    return out;
  }

  /** `homes` after `gone` left: the sessions it had are elsewhere, every other session where it was. */
  function expectOnlyItsSessionsMoved(before: readonly string[], after: readonly string[], gone: string): void {
    expect(after.map((home, i) => (before[i] === gone ? home !== gone : home === before[i]))).toEqual(before.map(() => true));
  }

  beforeAll(async () => {
    // a killed backend stays down for the rest of the file: the sessions it had must not come back to it
    const settings = { balancing: { affinity: 'session' }, restart: { initialDelayMs: 120_000, maxDelayMs: 120_000 } };
    gw = await startFleet(marker, 'aff', settings, ALL.slice(1));
    group = gw.registry.groupFor(undefined, 'aff')!;
    // twelve sessions over every network front: all on one backend of four would happen once in 4^11 runs
    for (let i = 0; i < 12; i++) clients.push(await connectClient(gw, NETWORK_FRONTS[i % NETWORK_FRONTS.length]));
  });

  afterAll(async () => {
    for (const client of clients) await disconnect(client);
    await gw?.stop();
    expect(await waitForNoProcesses(marker)).toEqual([]);
  });

  it('keeps every call of one 2025 session on one backend, and spreads different sessions over the backends', async () => {
    homes = await currentHomes();
    expect(new Set(homes).size).toBeGreaterThan(1);
  });

  it('balances 2026-07-28 requests by weight: they have no session to be pinned to', async () => {
    const served: string[] = [];
    for (let id = 1; id <= 8; id++) served.push(await modernAnswerer(gw, 'aff', id));
    expect(new Set(served)).toEqual(new Set(ALL));
  });

  it('moves the sessions of a backend that died, and only those', async () => {
    const victim = homes[0];
    await expect(clients[0].callTool({ name: 'aff__crash', arguments: {} })).rejects.toThrow(/server "aff"/);
    await waitFor(() => !group.backend(victim)!.ready, `${victim} to be down`);
    const after = await currentHomes();
    expectOnlyItsSessionsMoved(homes, after, victim);
    homes = after;
  });

  it('moves the sessions of a backend removed through the admin API, and only those', async () => {
    const victim = homes.find((home) => group.backend(home)!.ready)!;
    expect((await admin(gw, 'DELETE', `/admin/servers/aff/backends/${victim}`)).status).toBe(204);
    expect(group.backend(victim)).toBeUndefined();
    const after = await currentHomes();
    expectOnlyItsSessionsMoved(homes, after, victim);
  });
});
