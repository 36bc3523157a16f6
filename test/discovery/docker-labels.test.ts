/**
 * Docker-label discovery against the real engine: containers of the project's MCP server image
 * (the memory server behind its HTTP bridge), labelled as replicas of one server on a network the
 * test creates, join the gateway when Docker reports them healthy and leave when they stop; a
 * container with a bad label, one on another network and one the allowlist does not cover are
 * listed as refused with the reason. Calls go through the official SDK client.
 */
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { requireEngineAndImages, SERVER_IMAGE, TEST_LABEL, uniqueName } from '../containers/support/docker';
import { admin, ADMIN_TOKEN } from '../helpers/admin';
import { docker, removeLabelled } from '../helpers/docker';
import { connectClient, disconnect, newMarker, startTestGateway, type TestGateway } from '../helpers/gateway';
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
    const candidate = `172.30.${Math.floor(Math.random() * 250) + 1}`;
    try {
      await docker.createNetwork({ Name: name, Labels: { [TEST_LABEL]: runId }, IPAM: { Config: [{ Subnet: `${candidate}.0/24` }] } });
      return candidate;
    } catch (err) {
      if (attempt > 20) throw err;
    }
  }
}

async function discovered(gw: TestGateway): Promise<{ name: string; state: string; server?: string; backend?: string; reason?: string }[]> {
  return (await admin(gw, 'GET', '/admin/discovery')).body.containers;
}

async function backendsOf(gw: TestGateway, server: string): Promise<string[] | undefined> {
  const servers = (await admin(gw, 'GET', '/admin/servers')).body.servers as { name: string; backends: { id: string }[] }[];
  return servers.find((s) => s.name === server)?.backends.map((b) => b.id);
}

async function toolNames(client: Client): Promise<string[]> {
  return (await client.listTools()).tools.map((t) => t.name);
}

describe('Docker-label discovery', () => {
  let gw: TestGateway;
  let client: Client;

  beforeAll(async () => {
    await requireEngineAndImages([SERVER_IMAGE]);
    subnet = await createNetwork(network);
    otherSubnet = await createNetwork(other);
    gw = await startTestGateway(
      {
        admin: { token: ADMIN_TOKEN, register: { urls: [`http://${subnet}.*:8080/mcp`] } },
        discovery: {
          docker: {
            networks: [network],
            defaults: { headers: { Authorization: `Bearer ${TOKEN}` }, healthCheck: { intervalMs: 1000, timeoutMs: 2000 } },
          },
        },
        servers: {},
      },
      newMarker(),
    );
    client = await connectClient(gw, 'streamable-http');
  }, 120_000);

  afterAll(async () => {
    if (client) await disconnect(client);
    await gw?.stop();
    expect(await removeLabelled(TEST_LABEL, runId)).toEqual([]);
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
