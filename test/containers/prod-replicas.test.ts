/**
 * The prod override's gateway replicas on the real engine: the `gateway` service is haproxy
 * (mcp-fleet/haproxy, haproxy/mcp-lb.cfg) in front of gateway-1 and gateway-2, which share 2025
 * sessions through the redis service (mcp-fleet/redis). An official SDK client of each era goes
 * through the published port; each replica in turn is killed (`docker kill`) and both clients keep
 * being answered, the 2025 one in the same session, resumed from redis by the survivor when the
 * killed replica held it. `down -v` leaves no container, network or volume.
 */
import { chownSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { clientHeaders } from '../../activities/credentials';
import { connectModernGateway, type ModernConnection } from '../../gateway/client/connect-modern';
import { waitFor } from '../helpers/wait';
import {
  ComposeProject,
  docker,
  GATEWAY_IMAGE,
  HAPROXY_IMAGE,
  inspect,
  REDIS_IMAGE,
  requireEngineAndImages,
  ROOT,
  SERVER_IMAGE,
  sh,
  TEMPORAL_IMAGE,
} from './support/docker';
import { connectHttp, text, type HttpClient } from './support/mcp';

// up waits for the whole chain: temporal, pipeline (its worker bundles the workflows), the bridges,
// the replicas, haproxy
jest.setTimeout(420_000);

const REPLICAS = ['gateway-1', 'gateway-2'] as const;
const TOOL = { name: 'filesystem__list_allowed_directories', arguments: {} };

describe('prod override: two gateway replicas behind haproxy, sharing redis', () => {
  const tls = mkdtempSync(join(tmpdir(), 'mcpfleet-prod-tls-'));
  const project = new ComposeProject(['docker-compose.yml', 'docker-compose.prod.yml'], { MCP_FLEET_TLS_DIR: tls }, 'mcpfleet-prod');
  let session: HttpClient | undefined;
  let modern: ModernConnection | undefined;

  beforeAll(async () => {
    await requireEngineAndImages([GATEWAY_IMAGE, SERVER_IMAGE, TEMPORAL_IMAGE, HAPROXY_IMAGE, REDIS_IMAGE]);
    const certs = await sh('bash', [join(ROOT, 'scripts', 'gen-test-certs.sh'), tls, 'memory', 'filesystem', 'pipeline']);
    if (certs.code !== 0) throw new Error(`gen-test-certs.sh failed: ${certs.stderr}`);
    chownSync(join(tls, 'server.key'), 10001, 10001); // the bridges run as uid 10001
    await project.up(360_000);
    await project.waitHealthy(120_000);
    const address = await project.gatewayAddress();
    session = await connectHttp(address, 'prod-replicas-test');
    modern = await connectModernGateway(`http://${address}`, { name: 'prod-replicas-test', headers: clientHeaders() });
  });

  afterAll(async () => {
    await session?.close().catch(() => {});
    await modern?.close().catch(() => {});
    await project.down();
    rmSync(tls, { recursive: true, force: true });
    expect(await project.leftovers()).toEqual([]);
  });

  /** One call per client; each must be answered (no retry here: the balancer and the store do that). */
  async function callBoth(): Promise<void> {
    const [old, stateless] = await Promise.all([session!.client.callTool(TOOL), modern!.client.callTool(TOOL)]);
    expect(old.isError).toBeFalsy();
    expect(text(old)).toContain('/data');
    expect((stateless as { isError?: boolean }).isError).toBeFalsy();
    expect(text(stateless)).toContain('/data');
  }

  /** The lines a replica's current process logged with message `msg` (docker logs keeps earlier runs too). */
  async function logged(replica: string, msg: string): Promise<number> {
    const id = await project.container(replica);
    const since = (await inspect(id)).State.StartedAt as string;
    const r = await sh('docker', ['logs', '--since', since, id]);
    return `${r.stdout}\n${r.stderr}`.split('\n').filter((l) => l.includes(`"msg":"${msg}"`)).length;
  }

  it('runs haproxy as the published gateway, the replicas and redis hardened, redis reachable by the replicas only', async () => {
    const networks = async (service: string) => Object.keys((await inspect(await project.container(service))).NetworkSettings.Networks).sort();
    expect(await networks('gateway')).toEqual([`${project.name}_backend`, `${project.name}_frontend`]);
    for (const replica of REPLICAS) expect(await networks(replica)).toEqual([`${project.name}_backend`, `${project.name}_store`]);
    expect(await networks('redis')).toEqual([`${project.name}_store`]);
    expect(JSON.parse(await docker('network', 'inspect', `${project.name}_store`))[0].Internal).toBe(true);
    for (const service of ['gateway', ...REPLICAS, 'redis']) {
      const c = await inspect(await project.container(service));
      const what = service;
      expect({ what, image: c.Config.Image }).toEqual({
        what,
        image: service === 'gateway' ? HAPROXY_IMAGE : service === 'redis' ? REDIS_IMAGE : GATEWAY_IMAGE,
      });
      expect({ what, user: c.Config.User, readOnly: c.HostConfig.ReadonlyRootfs, capDrop: c.HostConfig.CapDrop }).toEqual({
        what,
        user: '10001:10001',
        readOnly: true,
        capDrop: ['ALL'],
      });
      expect(c.HostConfig.SecurityOpt).toContain('no-new-privileges:true');
      expect(c.Config.Healthcheck?.Test?.[0]).toBe('CMD');
    }
  });

  it('keeps answering a 2025 session and a 2026-07-28 client while each replica in turn is killed', async () => {
    await callBoth();
    for (const victim of REPLICAS) {
      const survivor = REPLICAS.find((r) => r !== victim)!;
      // the survivor is in haproxy's rotation: a stateless call (round-robin) reached it
      const seen = await logged(survivor, 'call');
      await waitFor(
        async () => (await modern!.client.callTool(TOOL), (await logged(survivor, 'call')) > seen),
        `haproxy to send calls to ${survivor}`,
        60_000,
        200,
      );

      const id = await project.container(victim);
      await docker('kill', id);
      // straight after the kill, before haproxy's checks notice: redispatched, never failed
      const killed = Date.now();
      await callBoth();
      const firstAnswerMs = Date.now() - killed;
      for (let i = 0; i < 2; i++) await callBoth();
      console.log(`prod-replicas: ${victim} killed; both clients answered ${firstAnswerMs} ms later, no call failed`);

      // the engine leaves a killed container stopped, whatever its restart policy: start it again
      await docker('start', id);
      await waitFor(async () => (await inspect(id)).State.Health?.Status === 'healthy', `${victim} to be healthy again after the kill`, 90_000, 250);
    }
    // the session was on one of the two when that one was killed: the other took it up from redis
    const resumedBy = () =>
      Promise.all(
        REPLICAS.map(
          async (r) =>
            (await sh('docker', ['logs', await project.container(r)])).stderr.split('\n').filter((l) => l.includes('resumed from the shared store')).length,
        ),
      );
    // the replicas log asynchronously, and docker reads their stderr on its own time: the line may come after the answer
    const resumed = await waitFor(async () => {
      const counts = await resumedBy();
      return counts.some((n) => n > 0) ? counts : undefined;
    }, 'a replica to log the resumed session');
    console.log(`prod-replicas: the 2025 session was resumed from redis ${resumed.join(' + ')} times (${REPLICAS.join(' + ')})`);
    expect(resumed.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(1);
    // and it is still the session the client opened
    await callBoth();
  });
});
