/**
 * The admin API over real HTTP: off without a token, bearer auth, every refusal with a JSON
 * `{ error }` that says what is wrong, and service discovery (servers registered and removed at
 * runtime reach clients as list_changed, and a removed server leaves no process behind).
 */
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { ToolListChangedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { connectClient, disconnect, newMarker, startTestGateway, type TestGateway } from '../helpers/gateway';
import { scripted } from '../helpers/scripted';
import { ADMIN_TOKEN, admin, startAdminGateway } from '../helpers/admin';
import { processesWithMarker, waitForNoProcesses } from '../helpers/processes';
import { waitFor } from '../helpers/wait';

describe('the admin API without an admin section', () => {
  it('answers 404 on every path, saying how to turn it on', async () => {
    const marker = newMarker();
    const gw = await startTestGateway({ servers: { a: scripted(marker, ['--tools', 'echo']) } }, marker);
    try {
      for (const path of ['/admin/servers', '/admin', '/admin/nope']) {
        expect(await admin(gw, 'GET', path)).toMatchObject({
          status: 404,
          body: { error: expect.stringContaining('admin API disabled; add an admin section') },
        });
      }
    } finally {
      await gw.stop();
    }
  });
});

describe('the admin API', () => {
  const marker = newMarker();
  let gw: TestGateway;

  beforeAll(async () => {
    gw = await startAdminGateway(marker, { a: scripted(marker, ['--tools', 'echo']) });
  });

  afterAll(async () => {
    await gw?.stop();
    expect(await waitForNoProcesses(marker)).toEqual([]);
  });

  it('refuses requests without the right bearer token (401)', async () => {
    const none = await admin(gw, 'GET', '/admin/servers', { token: null });
    expect(none).toMatchObject({ status: 401, body: { error: expect.stringContaining('Authorization: Bearer') } });
    expect(none.headers.get('www-authenticate')).toBe('Bearer');
    expect(await admin(gw, 'GET', '/admin/servers', { token: 'wrong' })).toMatchObject({ status: 401, body: { error: expect.stringContaining('wrong') } });
    expect(await admin(gw, 'GET', '/admin/servers', { token: `${ADMIN_TOKEN}x` })).toMatchObject({ status: 401 });
    expect(await admin(gw, 'GET', '/admin/nope', { token: null })).toMatchObject({ status: 401 }); // no route probing without the token
  });

  it('answers unknown routes with 404 and wrong methods with 405 and Allow', async () => {
    expect(await admin(gw, 'GET', '/admin/nope')).toMatchObject({ status: 404, body: { error: expect.stringContaining('no admin route /admin/nope') } });
    const wrong = await admin(gw, 'PATCH', '/admin/servers');
    expect(wrong).toMatchObject({ status: 405, body: { error: expect.stringContaining('PATCH is not allowed') } });
    expect(wrong.headers.get('allow')).toBe('GET, POST');
    expect((await admin(gw, 'GET', '/admin/servers/a/weights')).headers.get('allow')).toBe('PUT');
  });

  it('refuses bodies that are not JSON or not valid, naming the field', async () => {
    expect(await admin(gw, 'POST', '/admin/servers', { body: '{"name": ' })).toMatchObject({
      status: 400,
      body: { error: expect.stringContaining('not valid JSON') },
    });
    expect(await admin(gw, 'POST', '/admin/servers', { body: [] })).toMatchObject({
      status: 400,
      body: { error: expect.stringContaining('(body): expected a JSON object') },
    });
    expect(await admin(gw, 'POST', '/admin/servers', { body: { name: 'b', command: 'x', args: 'not-a-list' } })).toMatchObject({
      status: 400,
      body: { error: expect.stringMatching(/^args: /) },
    });
    expect(await admin(gw, 'POST', '/admin/servers', { body: { name: 'b/c', command: 'x' } })).toMatchObject({
      status: 400,
      body: { error: expect.stringMatching(/^name: /) },
    });
    expect(await admin(gw, 'POST', '/admin/servers', { body: { name: 'b', command: 'x', colour: 1 } })).toMatchObject({
      status: 400,
      body: { error: expect.stringContaining('colour') },
    });
    expect(await admin(gw, 'POST', '/admin/servers', { body: { name: 'b', command: process.execPath, prefix: 'a' } })).toMatchObject({
      status: 400,
      body: { error: expect.stringContaining('prefix "a" is already used') },
    });
    expect(await admin(gw, 'POST', '/admin/servers/a/backends', { body: { id: 'x', weight: -1, command: 'x' } })).toMatchObject({
      status: 400,
      body: { error: expect.stringMatching(/^weight: /) },
    });
    expect(await admin(gw, 'POST', '/admin/servers/a/backends', { body: { id: 'x', command: 'x', mode: 'per-session' } })).toMatchObject({
      status: 400,
      body: { error: expect.stringMatching(/^mode: not a backend field/) },
    });
    expect(await admin(gw, 'POST', '/admin/servers/a/backends', { body: { weight: 1, command: 'x' } })).toMatchObject({
      status: 400,
      body: { error: expect.stringMatching(/^id: /) },
    });
    expect(await admin(gw, 'PUT', '/admin/servers/a/weights', { body: { primary: 'lots' } })).toMatchObject({
      status: 400,
      body: { error: expect.stringMatching(/^primary: /) },
    });
    expect(await admin(gw, 'PUT', '/admin/servers/a/weights', { body: { ghost: 5 } })).toMatchObject({
      status: 400,
      body: { error: expect.stringMatching(/^ghost: server "a" has no backend "ghost"/) },
    });
    expect(await admin(gw, 'PUT', '/admin/servers/a/weights', { body: { primary: 0 } })).toMatchObject({
      status: 400,
      body: { error: expect.stringContaining('needs a weight > 0') },
    });
    expect(await admin(gw, 'PUT', '/admin/servers/a/weights', { body: {} })).toMatchObject({ status: 400 });
    for (const q of ['0', '3601', 'abc', '1.5']) {
      expect(await admin(gw, 'GET', `/admin/stats?windowSec=${q}`)).toMatchObject({ status: 400, body: { error: expect.stringMatching(/^windowSec: /) } });
    }
  });

  it('answers 404 for unknown servers and backends and 409 for conflicts', async () => {
    expect(await admin(gw, 'DELETE', '/admin/servers/ghost')).toMatchObject({
      status: 404,
      body: { error: expect.stringContaining('no server named "ghost"') },
    });
    expect(await admin(gw, 'POST', '/admin/servers/ghost/backends', { body: { id: 'x', command: 'x' } })).toMatchObject({ status: 404 });
    expect(await admin(gw, 'PUT', '/admin/servers/ghost/weights', { body: { primary: 1 } })).toMatchObject({ status: 404 });
    expect(await admin(gw, 'DELETE', '/admin/servers/a/backends/ghost')).toMatchObject({
      status: 404,
      body: { error: expect.stringContaining('no backend "ghost"') },
    });
    expect(await admin(gw, 'POST', '/admin/servers', { body: { name: 'a', command: process.execPath } })).toMatchObject({
      status: 409,
      body: { error: expect.stringContaining('already exists') },
    });
    const { command, args, env } = scripted(marker, ['--tools', 'echo']);
    expect(await admin(gw, 'POST', '/admin/servers/a/backends', { body: { id: 'primary', command, args, env } })).toMatchObject({ status: 409 });
    expect(await admin(gw, 'DELETE', '/admin/servers/a/backends/primary')).toMatchObject({
      status: 409,
      body: { error: expect.stringContaining('DELETE /admin/servers/a') },
    });
  });

  it('reports a backend that cannot start as down once its first attempt failed', async () => {
    const added = await admin(gw, 'POST', '/admin/servers/a/backends', {
      body: { id: 'broken', weight: 10, command: process.execPath, args: ['/nonexistent/mcp-server.js'] },
    });
    expect(added).toMatchObject({ status: 201, body: { id: 'broken', weight: 10, state: 'down', transport: 'stdio', tools: 0 } });
    expect((await admin(gw, 'DELETE', '/admin/servers/a/backends/broken')).status).toBe(204);
  });

  it('lists no pools when no per-session docker server runs', async () => {
    expect(await admin(gw, 'GET', '/admin/pools')).toMatchObject({ status: 200, body: { pools: [] } });
  });

  // last in this block: draining does not end until the gateway stops
  it('starts no new upstream once shutdown began (503)', async () => {
    gw.sessions.drain();
    const { command, args, env } = scripted(marker, ['--tools', 'echo']);
    expect(await admin(gw, 'POST', '/admin/servers', { body: { name: 'late', command, args, env } })).toMatchObject({
      status: 503,
      body: { error: expect.stringContaining('shutting down') },
    });
    expect(await admin(gw, 'POST', '/admin/servers/a/backends', { body: { id: 'late', command, args, env } })).toMatchObject({ status: 503 });
  });
});

describe('servers registered at runtime (service discovery)', () => {
  it('reach connected clients with list_changed, serve calls, and leave nothing behind when removed', async () => {
    const marker = newMarker();
    const addedMarker = newMarker();
    const gw = await startAdminGateway(marker, { a: scripted(marker, ['--tools', 'echo']) });
    let listChanged = 0;
    let client: Client | undefined;
    try {
      client = await connectClient(gw, 'websocket', { setup: (c) => c.setNotificationHandler(ToolListChangedNotificationSchema, () => void listChanged++) });
      const { command, args, env } = scripted(addedMarker, ['--tools', 'echo,sleep', '--name', 'found']);
      const created = await admin(gw, 'POST', '/admin/servers', { body: { name: 'found', command, args, env, requestTimeoutMs: 5000 } });
      expect(created).toEqual({
        status: 201,
        headers: expect.anything(),
        body: {
          name: 'found',
          mode: 'shared',
          state: 'ready',
          tools: ['found__echo', 'found__sleep'],
          backends: [
            {
              id: 'primary',
              weight: 100,
              state: 'ready',
              transport: 'stdio',
              target: process.execPath,
              tools: 2,
              health: { state: 'healthy', reason: 'answering', lastCheckAt: expect.any(String), consecutiveFailures: 0, consecutiveSuccesses: 1 },
              identity: expect.objectContaining({ serverInfo: { name: 'found', version: '1.0.0' } }),
              connections: { connected: 1, lost: 0, failed: 0 },
            },
          ],
        },
      });
      await waitFor(() => listChanged >= 1, 'list_changed for the new server');
      expect((await client.listTools()).tools.map((t) => t.name)).toEqual(['a__echo', 'found__echo', 'found__sleep']);
      expect(await client.callTool({ name: 'found__echo', arguments: {} })).toMatchObject({ content: [{ text: 'found:echo' }] });
      expect((await admin(gw, 'GET', '/admin/servers')).body.servers.map((s: { name: string }) => s.name)).toEqual(['a', 'found']);
      expect(processesWithMarker(addedMarker)).toHaveLength(1);

      const inFlight = client.callTool({ name: 'found__sleep', arguments: { ms: 30_000 } });
      await waitFor(() => gw.sessions.inFlightCount === 1, 'the call to be in flight');
      const seen = listChanged;
      expect(await admin(gw, 'DELETE', '/admin/servers/found')).toMatchObject({ status: 204, body: undefined });
      await expect(inFlight).rejects.toThrow(/server "found"/);
      await waitFor(() => listChanged > seen, 'list_changed for the removed server');
      expect((await client.listTools()).tools.map((t) => t.name)).toEqual(['a__echo']);
      await expect(client.callTool({ name: 'found__echo', arguments: {} })).rejects.toThrow(/Unknown tool: found__echo/);
      expect(await waitForNoProcesses(addedMarker)).toEqual([]);
      expect(Object.keys((await admin(gw, 'GET', '/admin/stats')).body.servers)).toEqual(['a']);
    } finally {
      if (client) await disconnect(client);
      await gw.stop();
    }
    expect(await waitForNoProcesses(marker)).toEqual([]);
  });

  it('opens a per-session server registered at runtime for the sessions already connected', async () => {
    const marker = newMarker();
    const gw = await startAdminGateway(marker, { a: scripted(marker, ['--tools', 'echo']) });
    try {
      const client = await connectClient(gw, 'streamable-http');
      const { command, args, env } = scripted(marker, ['--tools', 'echo', '--name', 'mine']);
      const created = await admin(gw, 'POST', '/admin/servers', { body: { name: 'mine', mode: 'per-session', command, args, env } });
      expect(created.body).toMatchObject({
        name: 'mine',
        mode: 'per-session',
        state: 'ready',
        tools: ['mine__echo'],
        backends: [{ id: 'primary', state: 'ready', tools: 1 }],
      });
      await waitFor(async () => (await client.listTools()).tools.some((t) => t.name === 'mine__echo'), 'the per-session server in the list');
      expect(await client.callTool({ name: 'mine__echo', arguments: {} })).toMatchObject({ content: [{ text: 'mine:echo' }] });
      expect((await admin(gw, 'DELETE', '/admin/servers/mine')).status).toBe(204);
      await waitFor(async () => !(await client.listTools()).tools.some((t) => t.name === 'mine__echo'), 'the per-session server to leave the list');
      await disconnect(client);
    } finally {
      await gw.stop();
    }
    expect(await waitForNoProcesses(marker)).toEqual([]);
  });
});
