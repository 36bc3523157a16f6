/**
 * DNS replica sets through Docker's own embedded DNS: the gateway image runs on a network the test
 * creates, in front of a server whose URL names a network alias that several containers of the
 * project's MCP server image share (what `docker compose up --scale` gives a service). Each address
 * becomes a backend; a replica started later joins and a stopped one leaves, with no restart.
 * Calls go through the official SDK client over the gateway's published port.
 */
import { mkdtempSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectGateway, type GatewayConnection } from '../../gateway/client/connect';
import { GATEWAY_IMAGE, requireEngineAndImages, SERVER_IMAGE, TEST_LABEL, uniqueName } from '../containers/support/docker';
import { docker, removeLabelled } from '../helpers/docker';
import { testSecret } from '../helpers/secret-values';
import { waitFor } from '../helpers/wait';

const runId = uniqueName('dns');
const network = `${runId}-net`;
const UPSTREAM = testSecret(`dns-upstream-${runId}-0123456789abcdef`, 'upstream token of the DNS replica test');
const ADMIN = testSecret(`dns-admin-${runId}-0123456789abcdefghijkl`, 'admin token of the DNS replica test');
const CLIENT = testSecret(`dns-client-${runId}-0123456789abcdef`, 'client API key of the DNS replica test');

async function runReplica(name: string): Promise<string> {
  const container = await docker.createContainer({
    name: `${runId}-${name}`,
    Image: SERVER_IMAGE,
    Env: ['MCP_SERVER=memory', `UPSTREAM_TOKEN=${UPSTREAM}`, 'MCP_SERVICE_HOST=notes'],
    Labels: { [TEST_LABEL]: runId },
    HostConfig: { NetworkMode: network },
    NetworkingConfig: { EndpointsConfig: { [network]: { Aliases: ['notes'] } } },
  });
  await container.start();
  return container.id;
}

async function addressOf(id: string): Promise<string> {
  return (await docker.getContainer(id).inspect()).NetworkSettings.Networks[network].IPAddress;
}

describe('a server given by a name Docker resolves to several replicas', () => {
  let dir: string;
  let base: string;
  let connection: GatewayConnection | undefined;
  const replicas: string[] = [];

  const backends = async (): Promise<{ id: string; weight: number; state: string }[]> => {
    const res = await fetch(`${base}/admin/servers`, { headers: { authorization: `Bearer ${ADMIN}` } });
    const body = (await res.json()) as { servers: { name: string; backends: { id: string; weight: number; state: string }[] }[] };
    return body.servers.find((s) => s.name === 'notes')!.backends;
  };
  const members = async () =>
    (await backends())
      .filter((b) => b.id.startsWith('dns-'))
      .map((b) => b.id)
      .sort();

  beforeAll(async () => {
    await requireEngineAndImages([GATEWAY_IMAGE, SERVER_IMAGE]);
    await docker.createNetwork({ Name: network, Labels: { [TEST_LABEL]: runId } });
    replicas.push(await runReplica('a'), await runReplica('b'));
    dir = mkdtempSync(join(tmpdir(), 'mcp-fleet-dns-'));
    const config = join(dir, 'gateway.yaml');
    writeFileSync(
      config,
      JSON.stringify({
        listen: '0.0.0.0:8080',
        http: { allowedHosts: ['127.0.0.1', 'localhost'] },
        auth: { apiKeys: { keys: [{ name: 'tester', key: CLIENT }] } },
        admin: { token: ADMIN, register: { urls: ['http://notes:8080/mcp'] } },
        servers: {
          notes: {
            url: 'http://notes:8080/mcp',
            headers: { Authorization: `Bearer ${UPSTREAM}` },
            dns: { intervalMs: 1000 },
            healthCheck: { intervalMs: 1000, timeoutMs: 1000, unhealthyThreshold: 1 },
            restart: { initialDelayMs: 200, maxDelayMs: 1000 },
          },
        },
      }),
    );
    chmodSync(config, 0o644);
    const gateway = await docker.createContainer({
      name: `${runId}-gateway`,
      Image: GATEWAY_IMAGE,
      Labels: { [TEST_LABEL]: runId },
      ExposedPorts: { '8080/tcp': {} },
      HostConfig: {
        NetworkMode: network,
        Binds: [`${config}:/etc/mcp-fleet/gateway.yaml:ro`],
        PortBindings: { '8080/tcp': [{ HostIp: '127.0.0.1', HostPort: '' }] },
      },
    });
    await gateway.start();
    const port = (await gateway.inspect()).NetworkSettings.Ports['8080/tcp'][0].HostPort;
    base = `http://127.0.0.1:${port}`;
    await waitFor(async () => (await fetch(`${base}/health/readiness`)).ok, 'the gateway to be ready', 90_000, 250);
  }, 180_000);

  afterAll(async () => {
    await connection?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
    expect(await removeLabelled(TEST_LABEL, runId)).toEqual([]);
  }, 60_000);

  it('serves each replica as a backend, takes in a new one and lets a stopped one go', async () => {
    const [a, b] = await Promise.all(replicas.map(addressOf));
    // both joined and connected: traffic can reach either
    await waitFor(
      async () => (await backends()).filter((x) => x.id.startsWith('dns-') && x.state === 'ready').length === 2,
      'both replicas ready',
      60_000,
      250,
    );
    expect(await members()).toEqual([`dns-${a}`, `dns-${b}`].sort());
    // the name resolved by the system stays as the fallback, with no traffic of its own
    expect((await backends()).find((x) => x.id === 'primary')?.weight).toBe(0);

    connection = await connectGateway(base, 'streamable-http', { headers: { authorization: `Bearer ${CLIENT}` } });
    for (let i = 0; i < 4; i++) expect((await connection.client.callTool({ name: 'notes__read_graph', arguments: {} })).isError).toBeFalsy();
    const stats = (await (await fetch(`${base}/admin/stats?windowSec=3600`, { headers: { authorization: `Bearer ${ADMIN}` } })).json()) as {
      servers: Record<string, Record<string, { calls: number }>>;
    };
    expect(stats.servers.notes[`dns-${a}`].calls).toBeGreaterThan(0);
    expect(stats.servers.notes[`dns-${b}`].calls).toBeGreaterThan(0);
    expect(stats.servers.notes.primary.calls).toBe(0);

    replicas.push(await runReplica('c'));
    const c = await addressOf(replicas[2]);
    await waitFor(async () => (await members()).includes(`dns-${c}`), 'the new replica to join', 60_000, 250);

    await docker.getContainer(replicas[0]).stop({ t: 1 });
    await waitFor(async () => !(await members()).includes(`dns-${a}`), 'the stopped replica to leave', 60_000, 250);
    expect(await members()).toEqual([`dns-${b}`, `dns-${c}`].sort());
    expect((await connection.client.callTool({ name: 'notes__read_graph', arguments: {} })).isError).toBeFalsy();
  }, 240_000);

  it('follows a server with dns registered at run time, as it would one a reload adds', async () => {
    const added = await fetch(`${base}/admin/servers`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'later', url: 'http://notes:8080/mcp', headers: { Authorization: `Bearer ${UPSTREAM}` }, dns: { intervalMs: 1000 } }),
    });
    expect(added.status).toBe(201);
    const live = await Promise.all(replicas.slice(1).map(addressOf));
    const later = await waitFor(
      async () => {
        const res = await fetch(`${base}/admin/servers`, { headers: { authorization: `Bearer ${ADMIN}` } });
        const body = (await res.json()) as { servers: { name: string; backends: { id: string }[] }[] };
        const ids = body.servers
          .find((s) => s.name === 'later')
          ?.backends.map((b) => b.id)
          .filter((id) => id.startsWith('dns-'))
          .sort();
        return ids?.length === live.length ? ids : undefined;
      },
      'the run-time server’s replicas as backends',
      60_000,
      250,
    );
    expect(later).toEqual(live.map((a) => `dns-${a}`).sort());
  }, 120_000);
});
