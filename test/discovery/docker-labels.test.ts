/**
 * Docker-label discovery against the real engine: containers of the project's MCP server image
 * (the memory server behind its HTTP bridge), labelled as replicas of one server on a network the
 * test creates, join the gateway when Docker reports them healthy and leave when they stop; a
 * container with a bad label, one on another network and one the allowlist does not cover are
 * listed as refused with the reason. With a gateway process started from a config file: a
 * container that joins a configured server stays its backend through a reload that changes the
 * server (and leaves when it stops), and a server discovery made stays untouched by reloads. A
 * running container whose configured server a reload removed makes the server itself (as it would
 * on its next start), and rejoins as a backend when a reload brings the configured server back.
 * Calls go through the official SDK client.
 */
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { connectGateway, type GatewayConnection } from '../../gateway/client/connect';
import { requireEngineAndImages, SERVER_IMAGE, TEST_LABEL, uniqueName } from '../containers/support/docker';
import { admin, ADMIN_TOKEN } from '../helpers/admin';
import { docker, removeLabelled } from '../helpers/docker';
import { connectClient, disconnect, newMarker, startTestGateway, type TestGateway } from '../helpers/gateway';
import { spawnGateway, stopGatewayProcess, writeGatewayConfig, type GatewayProcess } from '../helpers/gateway-process';
import { testSecret } from '../helpers/secret-values';
import { waitFor } from '../helpers/wait';

const runId = uniqueName('disc');
const TOKEN = testSecret(`bridge-token-${runId}-0123456789abcdef`, 'upstream token of the discovery test bridges');
const network = `${runId}-net`;
const other = `${runId}-other`;
let subnet = '';
let otherSubnet = '';

/** A bridge container labelled for discovery; `labels` replace or add to the defaults. */
async function runReplica(name: string, ip: string, labels: Record<string, string>, net = network): Promise<string> {
  const container = await docker.createContainer({
    name: `${runId}-${name}`,
    Image: SERVER_IMAGE,
    Env: ['MCP_SERVER=memory', `UPSTREAM_TOKEN=${TOKEN}`, `MCP_SERVICE_HOST=${ip}`],
    Labels: { [TEST_LABEL]: runId, ...labels },
    HostConfig: { NetworkMode: net },
    NetworkingConfig: { EndpointsConfig: { [net]: { IPAMConfig: { IPv4Address: ip } } } },
  });
  await container.start();
  return container.id;
}

async function createNetwork(name: string): Promise<string> {
  // a subnet of our own (a fixed address is only allowed on one), tried until one is free
  for (let attempt = 0; ; attempt++) {
    // outside the pools Docker hands compose networks from (172.17-31/16, 192.168/16), which a
    // stack test running beside this one may have taken whole
    const candidate = `10.199.${Math.floor(Math.random() * 250) + 1}`;
    try {
      await docker.createNetwork({ Name: name, Labels: { [TEST_LABEL]: runId }, IPAM: { Config: [{ Subnet: `${candidate}.0/24` }] } });
      return candidate;
    } catch (err) {
      if (attempt > 20) throw err;
    }
  }
}

async function discovered(gw: Pick<TestGateway, 'url'>): Promise<{ name: string; state: string; server?: string; backend?: string; reason?: string }[]> {
  return (await admin(gw, 'GET', '/admin/discovery')).body.containers;
}

interface BackendReport {
  id: string;
  weight: number;
  state: string;
  origin?: Record<string, string>;
  connections?: { connected: number };
}

async function backendReports(gw: Pick<TestGateway, 'url'>, server: string): Promise<BackendReport[] | undefined> {
  const servers = (await admin(gw, 'GET', '/admin/servers')).body.servers as { name: string; backends: BackendReport[] }[];
  return servers.find((s) => s.name === server)?.backends;
}

async function backendsOf(gw: Pick<TestGateway, 'url'>, server: string): Promise<string[] | undefined> {
  return (await backendReports(gw, server))?.map((b) => b.id);
}

async function toolNames(client: Client): Promise<string[]> {
  return (await client.listTools()).tools.map((t) => t.name);
}

beforeAll(async () => {
  await requireEngineAndImages([SERVER_IMAGE]);
  subnet = await createNetwork(network);
  otherSubnet = await createNetwork(other);
}, 120_000);

afterAll(async () => {
  expect(await removeLabelled(TEST_LABEL, runId)).toEqual([]);
}, 60_000);

/** What discovery is told to watch, and the allowlist it must respect (the test's subnet). */
function discoveryConfig(): Record<string, unknown> {
  return {
    admin: { token: ADMIN_TOKEN, register: { urls: [`http://${subnet}.*:8080/mcp`] } },
    discovery: {
      docker: {
        networks: [network],
        defaults: { headers: { Authorization: `Bearer ${TOKEN}` }, healthCheck: { intervalMs: 1000, timeoutMs: 2000 } },
      },
    },
  };
}

/** Writes the gateway's config file the way editors do (a temporary file renamed over it) and reloads it. */
function reloadConfig(gw: GatewayProcess, next: unknown): Promise<{ status: number; body: any }> {
  writeGatewayConfig(gw, next);
  return admin(gw, 'POST', '/admin/reload');
}

describe('Docker-label discovery', () => {
  let gw: TestGateway;
  let client: Client;

  beforeAll(async () => {
    gw = await startTestGateway({ ...discoveryConfig(), servers: {} }, newMarker());
    client = await connectClient(gw, 'streamable-http');
  }, 120_000);

  afterAll(async () => {
    if (client) await disconnect(client);
    await gw?.stop();
  }, 60_000);

  it('registers a healthy labelled container as a server, a second one as its replica, and lets them go when they stop', async () => {
    const first = await runReplica('notes-a', `${subnet}.10`, { 'mcp-fleet.server': 'notes' });
    // the image has a health check: the container is looked at on start and joins once Docker says healthy
    await waitFor(async () => (await toolNames(client)).includes('notes__read_graph'), 'the first replica to join', 90_000, 250);
    expect(await backendsOf(gw, 'notes')).toEqual(['primary']);

    const second = await runReplica('notes-b', `${subnet}.11`, { 'mcp-fleet.server': 'notes' });
    await waitFor(async () => (await backendsOf(gw, 'notes'))?.length === 2, 'the second replica to join', 90_000, 250);
    expect(await backendsOf(gw, 'notes')).toEqual(['primary', `${runId}-notes-b`]);
    expect(await discovered(gw)).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ name: `${runId}-notes-a`, state: 'registered', server: 'notes', backend: 'primary' }),
        expect.objectContaining({ name: `${runId}-notes-b`, state: 'registered', server: 'notes', backend: `${runId}-notes-b` }),
      ]),
    );

    // the first replica stops: the server stays, served by the second
    await docker.getContainer(first).stop({ t: 2 });
    await waitFor(async () => (await backendsOf(gw, 'notes'))?.length === 1, 'the first replica to leave', 30_000, 250);
    const answer = await client.callTool({ name: 'notes__read_graph', arguments: {} });
    expect(answer.isError).toBeFalsy();

    // the last replica stops: the server discovery made is gone, and so are its tools
    await docker.getContainer(second).stop({ t: 2 });
    await waitFor(async () => (await backendsOf(gw, 'notes')) === undefined, 'the server to be removed', 30_000, 250);
    expect(await toolNames(client)).not.toContain('notes__read_graph');
  }, 240_000);

  it('refuses a container with a bad label, one on another network and one the allowlist does not cover, naming why', async () => {
    await runReplica('bad-port', `${subnet}.20`, { 'mcp-fleet.server': 'broken', 'mcp-fleet.port': 'eighty' });
    await runReplica('elsewhere', `${otherSubnet}.21`, { 'mcp-fleet.server': 'stray' }, other);
    await runReplica('wrong-path', `${subnet}.22`, { 'mcp-fleet.server': 'sideways', 'mcp-fleet.path': '/other' });
    const refused = await waitFor(
      async () => {
        const r = (await discovered(gw)).filter((c) => c.state === 'refused');
        return r.length === 3 ? r : undefined;
      },
      'three refusals',
      90_000,
      250,
    );
    const reason = (name: string) => refused.find((c) => c.name === `${runId}-${name}`)?.reason;
    expect(reason('bad-port')).toMatch(/label mcp-fleet\.port: expected a port number/);
    expect(reason('elsewhere')).toMatch(new RegExp(`on none of the watched networks \\(${network}\\)`));
    expect(reason('wrong-path')).toMatch(/not on the registration allowlist \(admin\.register\.urls/);
    for (const server of ['broken', 'stray', 'sideways']) expect(await backendsOf(gw, server)).toBeUndefined();
  }, 180_000);
});

describe('Docker-label discovery across config reloads', () => {
  let gw: GatewayProcess | undefined;
  let connection: GatewayConnection | undefined;

  /** The config file: server kb reached at the kb-primary container, `kb` adding to its settings. */
  const doc = (kb: Record<string, unknown> = {}) => ({
    ...discoveryConfig(),
    reload: { watch: false },
    servers: { kb: { url: `http://${subnet}.30:8080/mcp`, headers: { Authorization: `Bearer ${TOKEN}` }, ...kb } },
  });

  const reload = (next: unknown) => reloadConfig(gw!, next);

  afterAll(async () => {
    await connection?.close();
    if (gw) await stopGatewayProcess(gw);
  }, 60_000);

  it("keeps the container backend of a changed server as the admin API's are kept, drops it when it stops, and leaves the server it made alone", async () => {
    // kb's primary: a container with no server label, so that discovery does not take it for one
    await runReplica('kb-primary', `${subnet}.30`, {});
    gw = await spawnGateway(doc(), newMarker());
    connection = await connectGateway(gw.url, 'streamable-http', { name: 'discovery-reload-test', version: '1.0.0' });
    const client = connection.client;
    await waitFor(async () => (await backendReports(gw!, 'kb'))?.[0].state === 'ready', 'kb to connect', 90_000, 250);

    const joining = await runReplica('kb-b', `${subnet}.31`, { 'mcp-fleet.server': 'kb', 'mcp-fleet.weight': '30' });
    await runReplica('memo', `${subnet}.32`, { 'mcp-fleet.server': 'memo' });
    const backend = `${runId}-kb-b`;
    await waitFor(async () => (await backendsOf(gw!, 'kb'))?.length === 2 && (await backendsOf(gw!, 'memo')) !== undefined, 'both to join', 90_000, 250);
    await waitFor(async () => (await backendReports(gw!, 'memo'))?.[0].state === 'ready', 'memo to connect', 30_000, 250);
    expect(await backendReports(gw, 'kb')).toEqual([
      expect.objectContaining({ id: 'primary', weight: 100 }),
      expect.objectContaining({ id: backend, weight: 30, origin: { by: 'discovery', container: backend } }),
    ]);
    const memoBefore = (await backendReports(gw, 'memo'))!;
    expect(memoBefore).toEqual([expect.objectContaining({ id: 'primary', connections: expect.objectContaining({ connected: 1 }) })]);

    // a new request timeout for kb: the container's backend is remade under it, with its weight
    expect(await reload(doc({ requestTimeoutMs: 45_000 }))).toMatchObject({
      status: 200,
      body: { result: 'applied', servers: { changed: ['kb'], added: [], removed: [] } },
    });
    const kept = await waitFor(
      async () => {
        const b = await backendReports(gw!, 'kb');
        return b?.length === 2 && b.every((x) => x.state === 'ready') ? b : undefined;
      },
      "kb's backends to serve after the reload",
      30_000,
      250,
    );
    expect(kept.map((b) => [b.id, b.weight])).toEqual([
      ['primary', 100],
      [backend, 30],
    ]);
    expect((await client.callTool({ name: 'kb__read_graph', arguments: {} })).isError).toBeFalsy();
    // memo, made by discovery, is no part of the file: the reload did not touch it (same connection)
    expect(await backendReports(gw, 'memo')).toEqual([expect.objectContaining({ state: 'ready', connections: memoBefore[0].connections })]);
    expect((await client.listTools()).tools.map((t) => t.name)).toContain('memo__read_graph');
    // the reload replaces what it changes together: once kb's line arrived, a line for memo would have too
    await gw.waitForLog((l) => l.msg === 'server replaced' && l.server === 'kb', "kb's replacement");
    expect(gw.logs.filter((l) => l.msg === 'server replaced').map((l) => l.server)).toEqual(['kb']);

    // the container stops: its backend leaves the changed server as it would have left the old one
    await docker.getContainer(joining).stop({ t: 2 });
    await waitFor(async () => (await backendsOf(gw!, 'kb'))?.length === 1, 'the container backend to leave', 30_000, 250);
    expect(await backendsOf(gw, 'kb')).toEqual(['primary']);
    expect(await discovered(gw)).not.toContainEqual(expect.objectContaining({ name: backend }));
  }, 300_000);
});

describe('Docker-label discovery when a reload removes and re-adds a server', () => {
  let gw: GatewayProcess | undefined;

  /** The config file, with server wiki (reached at the wiki-primary container) or without it. */
  const doc = (withWiki: boolean) => ({
    ...discoveryConfig(),
    reload: { watch: false },
    servers: withWiki ? { wiki: { url: `http://${subnet}.40:8080/mcp`, headers: { Authorization: `Bearer ${TOKEN}` } } } : {},
  });

  afterAll(async () => {
    if (gw) await stopGatewayProcess(gw);
  }, 60_000);

  it('lets a running container that had joined a removed server make it, and rejoin the server when the file brings it back', async () => {
    // wiki's primary: a container with no server label, so that discovery does not take it for one
    await runReplica('wiki-primary', `${subnet}.40`, {});
    gw = await spawnGateway(doc(true), newMarker());
    await waitFor(async () => (await backendReports(gw!, 'wiki'))?.[0].state === 'ready', 'wiki to connect', 90_000, 250);
    await runReplica('wiki-b', `${subnet}.41`, { 'mcp-fleet.server': 'wiki' });
    const container = `${runId}-wiki-b`;
    await waitFor(async () => (await backendsOf(gw!, 'wiki'))?.length === 2, 'the container to join wiki', 90_000, 250);

    // the file drops wiki: the container still runs, labelled for a server no one else has, so it makes wiki
    expect(await reloadConfig(gw, doc(false))).toMatchObject({ status: 200, body: { result: 'applied', servers: { removed: ['wiki'] } } });
    const made = await waitFor(
      async () => {
        const b = await backendReports(gw!, 'wiki');
        return b?.length === 1 && b[0].state === 'ready' ? b : undefined;
      },
      'the container to make wiki',
      30_000,
      250,
    );
    expect(made).toEqual([expect.objectContaining({ id: 'primary', target: `http://${subnet}.41:8080/mcp` })]);
    expect(made[0].origin).toBeUndefined();
    expect(await discovered(gw)).toContainEqual(expect.objectContaining({ name: container, state: 'registered', server: 'wiki', backend: 'primary' }));

    // the file wants wiki back while discovery serves it: refused, naming what to do
    const refused = await reloadConfig(gw, doc(true));
    expect(refused).toMatchObject({ status: 422, body: { result: 'refused' } });
    expect(refused.body.error).toMatch(/a server named "wiki" was registered at run time \(admin API or discovery\); DELETE it first/);
    expect((await admin(gw, 'DELETE', '/admin/servers/wiki')).status).toBeLessThan(300);
    expect(await backendsOf(gw, 'wiki')).toBeUndefined();

    // now the file's wiki comes back, its primary the unlabelled container, and the running container rejoins it as a backend
    expect(await reloadConfig(gw, doc(true))).toMatchObject({ status: 200, body: { result: 'applied', servers: { added: ['wiki'] } } });
    const rejoined = await waitFor(
      async () => {
        const b = await backendReports(gw!, 'wiki');
        return b?.length === 2 && b.every((x) => x.state === 'ready') ? b : undefined;
      },
      'the container to rejoin wiki',
      30_000,
      250,
    );
    expect(rejoined).toEqual([
      expect.objectContaining({ id: 'primary', target: `http://${subnet}.40:8080/mcp` }),
      expect.objectContaining({ id: container, target: `http://${subnet}.41:8080/mcp`, origin: { by: 'discovery', container } }),
    ]);
    expect(await discovered(gw)).toContainEqual(expect.objectContaining({ name: container, state: 'registered', server: 'wiki', backend: container }));
  }, 300_000);
});
