/**
 * The gateway runs MCP servers as Docker containers through the Engine API (real engine): hardened
 * by default, restarted when they die, pooled and bounded for per-session servers, cleaned up
 * after a crash of the gateway, and each failure reported for its server alone.
 */
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { connectClient, disconnect, newMarker, startTestGateway, type TestGateway } from '../helpers/gateway';
import { containersOf, docker, ensureScriptedImage, waitForNoContainers } from '../helpers/docker';
import { scripted } from '../helpers/scripted';
import { waitFor } from '../helpers/wait';
import { ADMIN_TOKEN, TEST_REGISTER, admin } from '../helpers/admin';
import { sampleValue, scrapeMetrics } from '../helpers/metrics';

const fast = { restart: { initialDelayMs: 100, maxDelayMs: 1000 } };
let image: string;

beforeAll(() => {
  image = ensureScriptedImage();
}, 120_000);

describe('shared docker server', () => {
  const instance = `t-${newMarker().slice(0, 8)}`;
  let gw: TestGateway;
  let client: Client;

  beforeAll(async () => {
    gw = await startTestGateway({ instance, servers: { box: { docker: { image, command: ['--tools', 'echo,crash,garbage'] }, ...fast } } }, instance);
    client = await connectClient(gw, 'streamable-http');
  });

  afterAll(async () => {
    if (client) await disconnect(client);
    await gw?.stop();
    expect(await waitForNoContainers(instance)).toEqual([]);
  });

  it('serves the tools of the server in the container', async () => {
    expect((await client.listTools()).tools.map((t) => t.name)).toEqual(['box__echo', 'box__crash', 'box__garbage']);
    expect(await client.callTool({ name: 'box__echo', arguments: {} })).toMatchObject({ content: [{ text: 'scripted:echo' }] });
  });

  it('hardens the container by default', async () => {
    const [info] = await containersOf(instance);
    const c = await docker.getContainer(info.Id).inspect();
    expect(c.Config.User).toBe('10001:10001'); // the image's own non-root user
    expect(c.HostConfig).toMatchObject({
      ReadonlyRootfs: true,
      CapDrop: ['ALL'],
      SecurityOpt: ['no-new-privileges:true'],
      NetworkMode: 'none',
      Memory: 256 * 1024 * 1024,
      NanoCpus: 1e9,
      PidsLimit: 256,
      Init: true,
      Tmpfs: { '/tmp': 'rw,noexec,nosuid,size=64m' },
    });
    expect(c.Config.Labels).toMatchObject({ 'io.mcp-fleet.gateway': instance, 'io.mcp-fleet.server': 'box', 'io.mcp-fleet.managed': 'true' });
  });

  it('logs garbage on the container stdout and still answers', async () => {
    expect(await client.callTool({ name: 'box__garbage', arguments: {} })).toMatchObject({ content: [{ text: 'after garbage' }] });
    await waitFor(() => gw.logs.some((l) => l.server === 'box' && l.line === 'this is not json'), 'the garbage line in the log');
  });

  it('restarts a container that died, in a new container, and removes the dead one', async () => {
    const [before] = await containersOf(instance);
    await expect(client.callTool({ name: 'box__crash', arguments: {} })).rejects.toThrow(/server "box"/);
    await waitFor(async () => {
      const now = await containersOf(instance);
      return now.length === 1 && now[0].Id !== before.Id && now[0].State === 'running';
    }, 'a new container');
    await waitFor(async () => (await client.listTools()).tools.length === 3, 'the tools to return');
    expect(await client.callTool({ name: 'box__echo', arguments: {} })).toMatchObject({ content: [{ text: 'scripted:echo' }] });
    expect(gw.logs.some((l) => l.server === 'box' && l.msg === 'container exited' && l.exitCode === 7)).toBe(true);
  });

  it('keeps one container however many calls run at once', async () => {
    // the gateway logs every container it starts: none may start for these calls
    const started = () => gw.logs.filter((l) => l.server === 'box' && l.msg === 'container started').length;
    const startedBefore = started();
    expect(startedBefore).toBeGreaterThan(0); // the running container's start is in the log
    const before = (await containersOf(instance)).map((c) => c.Id);
    expect(before).toHaveLength(1);
    const calls = await Promise.all(Array.from({ length: 100 }, () => client.callTool({ name: 'box__echo', arguments: {} })));
    expect(calls.every((c) => (c.content as { text: string }[])[0].text === 'scripted:echo')).toBe(true);
    expect(started()).toBe(startedBefore);
    expect((await containersOf(instance)).map((c) => c.Id)).toEqual(before);
  });
});

describe('per-session docker server with a warm pool', () => {
  const instance = `t-${newMarker().slice(0, 8)}`;
  let gw: TestGateway;

  beforeAll(async () => {
    gw = await startTestGateway(
      {
        instance,
        admin: { token: ADMIN_TOKEN, register: TEST_REGISTER },
        servers: {
          own: { docker: { image, command: ['--tools', 'echo,sleep'] }, mode: 'per-session', pool: { warm: 1, max: 3, acquireTimeoutMs: 20_000 }, ...fast },
        },
      },
      instance,
    );
  });

  afterAll(async () => {
    await gw?.stop();
    expect(await waitForNoContainers(instance)).toEqual([]);
  });

  it('keeps a started container ready before any session and hands it to the first session', async () => {
    const pool = gw.transports.pool('own', 'primary')!;
    await waitFor(() => pool.warmCount === 1, 'the warm container');
    expect((await containersOf(instance)).length).toBe(1);
    const [warm] = await containersOf(instance);
    expect((await admin(gw, 'GET', '/admin/pools')).body).toEqual({ pools: [{ server: 'own', backend: 'primary', warm: 1, busy: 0, max: 3, waiting: 0 }] });
    expect(sampleValue(await scrapeMetrics(gw), 'mcp_gateway_pool_containers', { server: 'own', state: 'warm' })).toBe(1);
    const client = await connectClient(gw, 'websocket');
    expect(await client.callTool({ name: 'own__echo', arguments: {} })).toMatchObject({ content: [{ text: 'scripted:echo' }] });
    const group = gw.registry.groupFor(gw.registry.ownersOf('own')[0], 'own')!;
    expect((group.backends[0].connection as unknown as { transport: { containerId: string } }).transport.containerId).toBe(warm.Id);
    await client.close();
    await waitFor(async () => !(await containersOf(instance)).some((c) => c.Id === warm.Id), 'the session container to go');
  });

  it('runs 100 concurrent calls from several sessions within pool.max containers, and ends each with its session', async () => {
    const clients = await Promise.all([connectClient(gw, 'streamable-http'), connectClient(gw, 'websocket'), connectClient(gw, 'sse')]);
    let most = 0;
    const watch = setInterval(() => void containersOf(instance).then((c) => (most = Math.max(most, c.length))), 20);
    const calls = await Promise.all(Array.from({ length: 100 }, (_, i) => clients[i % 3].callTool({ name: 'own__sleep', arguments: { ms: 20 } })));
    clearInterval(watch);
    expect(calls.every((c) => (c.content as { text: string }[])[0].text === 'slept 20')).toBe(true);
    expect(most).toBeGreaterThanOrEqual(3);
    expect(most).toBeLessThanOrEqual(3);
    expect(gw.transports.pool('own', 'primary')!.size).toBe(3);

    // a fourth session waits for a place and gets one when a session ends
    const fourth = connectClient(gw, 'streamable-http');
    const waiting = await waitFor(async () => {
      const [pool] = (await admin(gw, 'GET', '/admin/pools')).body.pools;
      return pool.waiting === 1 ? pool : undefined;
    }, 'the fourth session to wait for a container');
    expect(waiting).toEqual({ server: 'own', backend: 'primary', warm: 0, busy: 3, max: 3, waiting: 1 });
    expect((await containersOf(instance)).length).toBe(3);
    expect(sampleValue(await scrapeMetrics(gw), 'mcp_gateway_pool_containers', { server: 'own', state: 'busy' })).toBe(3);
    await disconnect(clients[0]);
    const late = await fourth;
    expect(await late.callTool({ name: 'own__echo', arguments: {} })).toMatchObject({ content: [{ text: 'scripted:echo' }] });
    await Promise.all([disconnect(late), disconnect(clients[1]), disconnect(clients[2])]);
    await waitFor(async () => (await containersOf(instance)).length <= 1, 'session containers to go (one warm may stay)');
  });

  it('gives a backend added at runtime a pool of its own, and removes it with the backend', async () => {
    const body = { id: 'canary', weight: 0, docker: { image, command: ['--tools', 'echo', '--name', 'canary'] } };
    expect(await admin(gw, 'POST', '/admin/servers/own/backends', { body })).toMatchObject({ status: 201, body: { id: 'canary', transport: 'docker' } });
    const pools = async () => (await admin(gw, 'GET', '/admin/pools')).body.pools as { backend: string; warm: number }[];
    await waitFor(async () => (await pools()).find((p) => p.backend === 'canary')?.warm === 1, "the canary's warm container");
    await waitFor(async () => (await containersOf(instance)).length === 2, 'a warm container for each backend');
    expect((await admin(gw, 'DELETE', '/admin/servers/own/backends/canary')).status).toBe(204);
    expect((await pools()).map((p) => p.backend)).toEqual(['primary']);
    await waitFor(async () => (await containersOf(instance)).length === 1, "the canary's container to go");
  });
});

describe('docker failures stay with their server', () => {
  it('names a missing image and a container that exits at once, while other servers keep serving', async () => {
    const instance = `t-${newMarker().slice(0, 8)}`;
    const marker = newMarker();
    const gw = await startTestGateway(
      {
        instance,
        startup: { waitForServersMs: 5000 },
        servers: {
          ghost: { docker: { image: 'mcp-fleet-test/does-not-exist:nope' }, ...fast },
          dies: { docker: { image, command: ['--exit-at-start'] }, ...fast },
          fine: scripted(marker, ['--tools', 'echo']),
        },
      },
      marker,
    );
    try {
      const client = await connectClient(gw, 'streamable-http');
      expect((await client.listTools()).tools.map((t) => t.name)).toEqual(['fine__echo']);
      await waitFor(
        () => gw.logs.some((l) => l.server === 'ghost' && String(l.err).includes('image mcp-fleet-test/does-not-exist:nope does not exist')),
        'the missing image error',
      );
      await waitFor(() => gw.logs.some((l) => l.server === 'dies' && l.msg === 'container exited' && l.exitCode === 3), 'the exit code');
      await expect(client.callTool({ name: 'ghost__echo', arguments: {} })).rejects.toThrow(/Unknown tool: ghost__echo/);
      expect(await client.callTool({ name: 'fine__echo', arguments: {} })).toMatchObject({ content: [{ text: 'scripted:echo' }] });
      await client.close();
    } finally {
      await gw.stop();
    }
    expect(await waitForNoContainers(instance)).toEqual([]);
  });

  it('removes containers a crashed run of the same instance left behind', async () => {
    const instance = `t-${newMarker().slice(0, 8)}`;
    const orphan = await docker.createContainer({
      Image: image,
      Labels: { 'io.mcp-fleet.managed': 'true', 'io.mcp-fleet.gateway': instance, 'io.mcp-fleet.server': 'box' },
    });
    const gw = await startTestGateway({ instance, servers: { box: { docker: { image, command: ['--tools', 'echo'] }, ...fast } } }, instance);
    try {
      await expect(orphan.inspect()).rejects.toMatchObject({ statusCode: 404 });
      expect(gw.logs.some((l) => l.msg === 'removed containers left by an earlier run of this gateway instance')).toBe(true);
    } finally {
      await gw.stop();
    }
    expect(await waitForNoContainers(instance)).toEqual([]);
  });
});

describe('the reference server image as a docker server', () => {
  it('runs server-memory through the stdio wrapper, keeping its graph in a volume across containers', async () => {
    const instance = `t-${newMarker().slice(0, 8)}`;
    const volume = `mcp-fleet-test-${instance}`;
    const doc = {
      instance,
      servers: {
        memory: { docker: { image: 'mcp-fleet/mcp-server:dev', command: ['mcp-stdio-wrapper.sh', 'memory'], volumes: [`${volume}:/data`] }, ...fast },
      },
    };
    try {
      let gw = await startTestGateway(doc, instance);
      let client = await connectClient(gw, 'websocket');
      await client.callTool({
        name: 'memory__create_entities',
        arguments: { entities: [{ name: 'kept', entityType: 'test', observations: ['in a volume'] }] },
      });
      await client.close();
      await gw.stop();
      expect(await waitForNoContainers(instance)).toEqual([]);

      gw = await startTestGateway(doc, instance);
      client = await connectClient(gw, 'websocket');
      expect(JSON.stringify(await client.callTool({ name: 'memory__read_graph', arguments: {} }))).toContain('in a volume');
      await client.close();
      await gw.stop();
    } finally {
      await docker
        .getVolume(volume)
        .remove({ force: true })
        .catch(() => {});
    }
    expect(await waitForNoContainers(instance)).toEqual([]);
  });
});

describe('stopping leaves no container behind', () => {
  it('has removed every container by the time stop() resolves, also one the pool was still starting', async () => {
    const instance = `t-${newMarker().slice(0, 8)}`;
    const gw = await startTestGateway(
      { instance, servers: { own: { docker: { image, command: ['--tools', 'echo'] }, mode: 'per-session', pool: { warm: 1, max: 3 }, ...fast } } },
      instance,
    );
    await waitFor(() => gw.transports.pool('own', 'primary')!.warmCount === 1, 'the warm container');
    const client = await connectClient(gw, 'websocket'); // takes the warm container: the pool starts another
    await gw.stop(); // while that one is still starting
    expect(await containersOf(instance)).toEqual([]); // no waiting: stop() itself must have waited
    await client.close();
  });
});
