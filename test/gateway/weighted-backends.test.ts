/**
 * Weighted backends through the admin API, as a canary rollout uses them: traffic splits exactly
 * by weight (smooth weighted round-robin), shifts when weights change, fails over when a backend
 * dies, and the statistics the rollout gates on count what happened. Real scripted servers; each
 * answers with its own name, so the tests can count which backend served a call.
 */
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { ResourceUpdatedNotificationSchema, ToolListChangedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { connectClient, disconnect, newMarker, type TestGateway } from '../helpers/gateway';
import { scripted } from '../helpers/scripted';
import { admin, startAdminGateway } from '../helpers/admin';
import { processesWithMarker, waitForNoProcesses } from '../helpers/processes';
import { waitFor } from '../helpers/wait';

const TOOLS = 'echo,sleep,crash,fail,tool_error';

/** The transport fields of a scripted server answering as `name` (what a backend body takes). */
function backendBody(id: string, marker: string, name: string, extra: Record<string, unknown> = {}, tools = TOOLS) {
  const { command, args, env } = scripted(marker, ['--tools', tools, '--name', name]);
  return { id, command, args, env, ...extra };
}

/** Calls `tool` n times and counts the answers by the name of the backend that gave them. */
async function servedBy(client: Client, tool: string, n: number): Promise<Record<string, number>> {
  const seen: Record<string, number> = {};
  for (let i = 0; i < n; i++) {
    const r = await client.callTool({ name: tool, arguments: {} });
    const who = String((r.content as { text: string }[])[0].text).split(':')[0];
    seen[who] = (seen[who] ?? 0) + 1;
  }
  return seen;
}

async function stats(gw: TestGateway, server: string) {
  return (await admin(gw, 'GET', '/admin/stats?windowSec=3600')).body.servers[server];
}

describe('a shared server with weighted backends', () => {
  const marker = newMarker();
  const canaryMarker = newMarker();
  let gw: TestGateway;
  let client: Client;
  let listChanged = 0;

  beforeAll(async () => {
    gw = await startAdminGateway(marker, {
      svc: scripted(marker, ['--tools', TOOLS, '--name', 'blue'], { restart: { initialDelayMs: 3000, maxDelayMs: 3000 } }),
    });
    client = await connectClient(gw, 'streamable-http', {
      setup: (c) => c.setNotificationHandler(ToolListChangedNotificationSchema, () => void listChanged++),
    });
  });

  afterAll(async () => {
    await disconnect(client);
    await gw?.stop();
    expect(await waitForNoProcesses(marker)).toEqual([]);
    expect(await waitForNoProcesses(canaryMarker)).toEqual([]);
  });

  it('adds a backend with weight 0 by default, answering once it is connected; it takes no traffic', async () => {
    const added = await admin(gw, 'POST', '/admin/servers/svc/backends', { body: backendBody('green', marker, 'green') });
    expect(added).toMatchObject({ status: 201, body: { id: 'green', weight: 0, state: 'ready', transport: 'stdio', tools: 5 } });
    expect((await admin(gw, 'GET', '/admin/servers')).body.servers).toEqual([
      {
        name: 'svc',
        mode: 'shared',
        state: 'ready',
        tools: ['svc__echo', 'svc__sleep', 'svc__crash', 'svc__fail', 'svc__tool_error'],
        backends: [
          {
            id: 'primary',
            weight: 100,
            state: 'ready',
            transport: 'stdio',
            target: process.execPath,
            tools: 5,
            health: expect.objectContaining({ state: 'healthy' }),
            identity: expect.objectContaining({ serverInfo: { name: 'blue', version: '1.0.0' } }),
            connections: { connected: 1, lost: 0, failed: 0 },
          },
          {
            id: 'green',
            weight: 0,
            state: 'ready',
            transport: 'stdio',
            target: process.execPath,
            tools: 5,
            health: expect.objectContaining({ state: 'healthy' }),
            identity: expect.objectContaining({ serverInfo: { name: 'green', version: '1.0.0' } }),
            connections: { connected: 1, lost: 0, failed: 0 },
            origin: { by: 'admin API' },
          },
        ],
      },
    ]);
    expect(await servedBy(client, 'svc__echo', 10)).toEqual({ blue: 10 });
  });

  it('splits calls exactly by weight, and counts them per backend in the stats', async () => {
    const before = await stats(gw, 'svc');
    expect(await admin(gw, 'PUT', '/admin/servers/svc/weights', { body: { primary: 80, green: 20 } })).toMatchObject({
      status: 200,
      body: { name: 'svc', weights: { primary: 80, green: 20 } },
    });
    expect(await servedBy(client, 'svc__echo', 100)).toEqual({ blue: 80, green: 20 });
    const after = await stats(gw, 'svc');
    expect(after.primary.calls - before.primary.calls).toBe(80);
    expect(after.green.calls - before.green.calls).toBe(20);
    expect(after.green).toMatchObject({ errors: 0, toolErrors: 0, errorRate: 0, p50Ms: expect.any(Number), p99Ms: expect.any(Number) });
  });

  it('shifts traffic as soon as the weights change', async () => {
    await admin(gw, 'PUT', '/admin/servers/svc/weights', { body: { green: 80 } }); // primary keeps 80
    expect(await servedBy(client, 'svc__echo', 10)).toEqual({ blue: 5, green: 5 });
    await admin(gw, 'PUT', '/admin/servers/svc/weights', { body: { primary: 0, green: 100 } });
    expect(await servedBy(client, 'svc__echo', 10)).toEqual({ green: 10 });
  });

  it('counts failed calls and tool errors as errors of the backend that served them', async () => {
    const before = await stats(gw, 'svc');
    await expect(client.callTool({ name: 'svc__fail', arguments: {} })).rejects.toThrow(/green: failed on purpose/);
    expect(await client.callTool({ name: 'svc__tool_error', arguments: {} })).toMatchObject({ isError: true });
    const after = await stats(gw, 'svc');
    expect(after.green.calls - before.green.calls).toBe(2);
    expect(after.green.errors - before.green.errors).toBe(1);
    expect(after.green.toolErrors - before.green.toolErrors).toBe(1);
    expect(after.green.errorRate).toBeGreaterThan(0);
  });

  it('fails over to the other backend when one dies, even to weight 0, and counts the lost call as an error', async () => {
    const before = await stats(gw, 'svc');
    const slow = client.callTool({ name: 'svc__sleep', arguments: { ms: 30_000 } }); // served by green (weight 100)
    await waitFor(() => gw.sessions.inFlightCount === 1, 'the slow call to be in flight');
    const green = gw.registry.groupFor(undefined, 'svc')!.backend('green')!;
    const crashed = green.connection!.request('tools/call', { name: 'crash', arguments: {} }, { timeoutMs: 5000 }).response;
    await expect(crashed).rejects.toMatchObject({ code: 'UPSTREAM_UNAVAILABLE' });
    await expect(slow).rejects.toThrow(/server "svc"/);
    // green restarts only after 3 s (with jitter at least 2.4 s): far longer than these calls take
    expect(await servedBy(client, 'svc__echo', 5)).toEqual({ blue: 5 });
    expect(gw.logs.some((l) => l.msg === 'no backend with weight > 0 is ready; a weight-0 backend serves the request' && l.server === 'svc')).toBe(true);
    const servers = (await admin(gw, 'GET', '/admin/servers')).body.servers;
    expect(servers[0].backends[1]).toMatchObject({ id: 'green', state: expect.stringMatching(/down|connecting/) });
    const after = await stats(gw, 'svc');
    expect(after.green.errors - before.green.errors).toBe(1);
    expect(after.primary.calls - before.primary.calls).toBe(5);
    await waitFor(async () => (await admin(gw, 'GET', '/admin/servers')).body.servers[0].backends[1].state === 'ready', 'green to come back');
    expect(await servedBy(client, 'svc__echo', 3)).toEqual({ green: 3 });
  });

  it('shows the catalog of the heaviest ready backend, with list_changed when it changes, and routes a tool only to backends that have it', async () => {
    await admin(gw, 'PUT', '/admin/servers/svc/weights', { body: { primary: 100, green: 0 } });
    const added = await admin(gw, 'POST', '/admin/servers/svc/backends', { body: backendBody('v2', canaryMarker, 'v2', { weight: 0 }, 'echo,extra') });
    expect(added.body).toMatchObject({ id: 'v2', state: 'ready', tools: 2 });
    const names = async () => (await client.listTools()).tools.map((t) => t.name);
    expect(await names()).not.toContain('svc__extra');

    const before = listChanged;
    await admin(gw, 'PUT', '/admin/servers/svc/weights', { body: { v2: 200 } });
    await waitFor(() => listChanged > before, 'list_changed after the lead backend changed');
    expect(await names()).toEqual(['svc__echo', 'svc__extra']);
    expect(await servedBy(client, 'svc__extra', 4)).toEqual({ v2: 4 });
    expect(await servedBy(client, 'svc__echo', 6)).toEqual({ blue: 2, v2: 4 });

    const beforeDelete = listChanged;
    expect((await admin(gw, 'DELETE', '/admin/servers/svc/backends/v2')).status).toBe(204);
    await waitFor(() => listChanged > beforeDelete, 'list_changed after the lead backend went');
    expect(await names()).not.toContain('svc__extra');
    expect(await waitForNoProcesses(canaryMarker)).toEqual([]);
    expect(Object.keys(await stats(gw, 'svc'))).toEqual(['primary', 'green']);
  });
});

describe('a per-session server with weighted backends', () => {
  it('binds each new session to a backend by weight for its life, and moves it when that backend is removed', async () => {
    const marker = newMarker();
    const greenMarker = newMarker();
    const gw = await startAdminGateway(marker, { own: scripted(marker, ['--tools', 'echo', '--name', 'blue'], { mode: 'per-session' }) });
    const clients: Client[] = [];
    try {
      const early = await connectClient(gw, 'streamable-http');
      clients.push(early);
      const added = await admin(gw, 'POST', '/admin/servers/own/backends', { body: backendBody('green', greenMarker, 'green', { weight: 100 }) });
      expect(added).toMatchObject({ status: 201, body: { id: 'green', weight: 100, state: 'ready', tools: 5 } });
      // no session uses a new backend yet: a probe connected once to tell whether it can start
      const broken = await admin(gw, 'POST', '/admin/servers/own/backends', {
        body: { id: 'broken', command: process.execPath, args: ['/nonexistent/mcp-server.js'] },
      });
      expect(broken).toMatchObject({ status: 201, body: { id: 'broken', weight: 0, state: 'down', tools: 0 } });
      expect((await admin(gw, 'DELETE', '/admin/servers/own/backends/broken')).status).toBe(204);
      expect(processesWithMarker(greenMarker)).toEqual([]); // the probe is gone
      await admin(gw, 'PUT', '/admin/servers/own/weights', { body: { primary: 0 } });

      const late = await connectClient(gw, 'streamable-http');
      clients.push(late);
      expect(await servedBy(early, 'own__echo', 3)).toEqual({ blue: 3 });
      expect(await servedBy(late, 'own__echo', 3)).toEqual({ green: 3 });
      expect(processesWithMarker(greenMarker)).toHaveLength(1);

      await admin(gw, 'PUT', '/admin/servers/own/weights', { body: { primary: 100 } });
      expect((await admin(gw, 'DELETE', '/admin/servers/own/backends/green')).status).toBe(204);
      expect(await waitForNoProcesses(greenMarker)).toEqual([]);
      await waitFor(async () => (await late.listTools()).tools.length === 1, 'the late session to be rebound');
      expect(await servedBy(late, 'own__echo', 2)).toEqual({ blue: 2 });
    } finally {
      for (const c of clients) await disconnect(c);
      await gw.stop();
    }
    expect(await waitForNoProcesses(marker)).toEqual([]);
  });
});

describe('a resource subscription on a server with several backends', () => {
  it('holds on every ready backend, so removing the one that answered it loses nothing', async () => {
    const marker = newMarker();
    const gw = await startAdminGateway(marker, { res: scripted(marker, ['--tools', 'touch', '--resources', '--name', 'blue']) });
    const updates: string[] = [];
    const client = await connectClient(gw, 'streamable-http', {
      setup: (c) => c.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => void updates.push(n.params.uri)),
    });
    try {
      const { command, args, env } = scripted(marker, ['--tools', 'touch', '--resources', '--name', 'green']);
      expect((await admin(gw, 'POST', '/admin/servers/res/backends', { body: { id: 'green', command, args, env } })).body).toMatchObject({ state: 'ready' });
      await client.subscribeResource({ uri: 'test://r' }); // answered by primary, the only backend with weight
      await admin(gw, 'PUT', '/admin/servers/res/weights', { body: { primary: 0, green: 100 } });
      expect((await admin(gw, 'DELETE', '/admin/servers/res/backends/primary')).status).toBe(204);
      expect(await client.callTool({ name: 'res__touch', arguments: {} })).toMatchObject({ content: [{ text: 'green:touched 1' }] });
      await waitFor(() => updates.includes('test://r'), 'the update from green');
    } finally {
      await disconnect(client);
      await gw.stop();
    }
    expect(await waitForNoProcesses(marker)).toEqual([]);
  });
});
