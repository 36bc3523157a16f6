/**
 * The compose files as compose reads them (base, base+dev, base+prod), and bad input on the compose
 * path: an image that does not exist gives an error naming the service and the image, and nothing
 * of the project is left behind.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { ComposeProject, requireEngineAndImages, ROOT } from './support/docker';

jest.setTimeout(120_000);

interface ServiceConfig {
  image: string;
  read_only?: boolean;
  environment?: Record<string, string>;
  entrypoint?: string[];
  deploy?: { replicas?: number };
  logging?: { options?: Record<string, string> };
  /** "HOST_IP:PUBLISHED:TARGET" (compose v1) or the long form (v2). */
  ports?: (string | { host_ip?: string; published?: string | number; target: number })[];
  /** "SOURCE:TARGET[:MODE]" (compose v1) or the long form (v2). */
  volumes?: (string | { source?: string; target: string; read_only?: boolean })[];
  command?: string[];
  profiles?: string[];
  /** Names (v1 may print them short) or `{ source }` (v2). */
  secrets?: (string | { source: string })[];
}

/** The secrets a service gets, by name, whichever form compose printed. */
function secrets(service: ServiceConfig): string[] {
  return (service.secrets ?? []).map((s) => (typeof s === 'string' ? s : s.source));
}

/** `compose config` of FILES: its services, or compose's error. */
async function config(
  files: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; stderr: string; services: Record<string, ServiceConfig>; doc: any }> {
  const r = await new ComposeProject(files, env, 'mcpfleet-config').compose('config');
  const doc = r.code === 0 ? parseYaml(r.stdout) : {};
  return { code: r.code, stderr: r.stderr, services: doc.services ?? {}, doc };
}

/** Ports as "HOST_IP:PUBLISHED:TARGET", whichever form compose printed. */
function ports(service: ServiceConfig): string[] {
  return (service.ports ?? []).map((p) => (typeof p === 'string' ? p.replace(/\/tcp$/, '') : `${p.host_ip ?? ''}:${p.published ?? ''}:${p.target}`));
}

/** Volumes as "SOURCE:TARGET:ro|rw", whichever form compose printed. */
function volumes(service: ServiceConfig): string[] {
  return (service.volumes ?? []).map((v) => {
    if (typeof v !== 'string') return `${v.source}:${v.target}:${v.read_only ? 'ro' : 'rw'}`;
    const [source, target, mode = 'rw'] = v.split(':');
    return `${source}:${target}:${mode}`;
  });
}

beforeAll(() => requireEngineAndImages());

describe('compose files', () => {
  it('base: no version key, the gateway and the Temporal UI published on 127.0.0.1, an internal backend network', async () => {
    const base = await config(['docker-compose.yml']);
    expect(base.code).toBe(0);
    for (const file of ['docker-compose.yml', 'docker-compose.dev.yml', 'docker-compose.prod.yml', 'docker-compose.pipeline-engine.yml']) {
      expect(readFileSync(join(ROOT, file), 'utf8')).not.toMatch(/^version:/m);
    }
    // compose v1 lists a profile's services always, v2 only with the profile on
    expect(
      Object.keys(base.services)
        .filter((s) => s !== 'prometheus')
        .sort(),
    ).toEqual(['filesystem', 'gateway', 'memory', 'pipeline', 'pipeline-worker', 'temporal']);
    const observed = await config(['docker-compose.yml'], { COMPOSE_PROFILES: 'observability', PROMETHEUS_PORT: '0' });
    expect(observed.services.prometheus.profiles).toEqual(['observability']);
    expect(ports(observed.services.prometheus)).toEqual(['127.0.0.1:0:9090']);
    expect(secrets(observed.services.prometheus)).toEqual(['admin_token']);
    expect(ports(base.services.gateway)).toEqual(['127.0.0.1:0:8080']);
    expect(ports(base.services.temporal)).toEqual(['127.0.0.1:0:8233']);
    for (const service of ['memory', 'filesystem', 'pipeline', 'pipeline-worker']) expect(ports(base.services[service])).toEqual([]);
    expect(base.doc.networks.backend.internal).toBe(true);
    expect(base.doc.networks['temporal-ui'].internal ?? false).toBe(false);
    expect(base.doc.networks['temporal-ui'].driver_opts).toEqual({ 'com.docker.network.bridge.enable_ip_masquerade': 'false' });
    // the pipeline server reaches Temporal, its worker Temporal and the gateway, by service name; neither has a Docker socket
    expect(base.services.pipeline.environment).toMatchObject({ TEMPORAL_ADDRESS: 'temporal:7233' });
    expect(base.services['pipeline-worker'].environment).toMatchObject({ TEMPORAL_ADDRESS: 'temporal:7233', MCP_FLEET_GATEWAY_URL: 'http://gateway:8080' });
    for (const service of ['pipeline', 'pipeline-worker']) expect(volumes(base.services[service]).filter((v) => v.includes('docker.sock'))).toEqual([]);
    expect(volumes(base.services.temporal)).toContain('temporal-data:/data:rw');
  });

  it("the host CLI's TEMPORAL_ADDRESS stays out of the stack; MCP_FLEET_TEMPORAL_ADDRESS points the pipeline elsewhere", async () => {
    // the CLI deploying the stack runs with TEMPORAL_ADDRESS set to its own Temporal, unreachable from a container
    const cli = await config(['docker-compose.yml'], { TEMPORAL_ADDRESS: '127.0.0.1:7233' });
    const other = await config(['docker-compose.yml'], { MCP_FLEET_TEMPORAL_ADDRESS: 'temporal.example:7233' });
    for (const service of ['pipeline', 'pipeline-worker']) {
      expect(cli.services[service].environment?.TEMPORAL_ADDRESS).toBe('temporal:7233');
      expect(other.services[service].environment?.TEMPORAL_ADDRESS).toBe('temporal.example:7233');
    }
  });

  it('pipeline-engine: the socket mount is opt-in, with the socket group only', async () => {
    const missing = await config(['docker-compose.yml', 'docker-compose.pipeline-engine.yml'], { DOCKER_GID: '' });
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toContain('set DOCKER_GID to the group of the Docker socket');
    const engine = await config(['docker-compose.yml', 'docker-compose.pipeline-engine.yml'], { DOCKER_GID: '4242' });
    expect(engine.code).toBe(0);
    const worker = engine.services['pipeline-worker'];
    expect(volumes(worker)).toContain('/var/run/docker.sock:/var/run/docker.sock:rw');
    expect((worker as { group_add?: (string | number)[] }).group_add?.map(String)).toEqual(['4242']);
    expect((worker as { user?: string }).user).toBe('10001:10001');
    // only the worker: the pipeline server runs no steps
    expect(volumes(engine.services.pipeline).filter((v) => v.includes('docker.sock'))).toEqual([]);
  });

  it('dev: mounts the checkout read-only and runs dev-entrypoint.sh with debug logs', async () => {
    const dev = await config(['docker-compose.yml', 'docker-compose.dev.yml'], { MCP_FLEET_SRC: '/src-checkout' });
    expect(dev.code).toBe(0);
    const memory = dev.services.memory;
    expect(volumes(memory)).toContain('/src-checkout/dist:/app/dist:ro');
    expect(memory.entrypoint).toContain('/opt/mcp-fleet/docker/dev-entrypoint.sh');
    expect(memory.environment?.LOG_LEVEL).toBe('debug');
    expect(memory.read_only).toBe(true);
  });

  it('dev: the pipeline server and its worker run from the mounted build output and restart when their code changes', async () => {
    const dev = await config(['docker-compose.yml', 'docker-compose.dev.yml'], { MCP_FLEET_SRC: '/src-checkout' });
    const { pipeline } = dev.services;
    const worker = dev.services['pipeline-worker'];
    expect(volumes(pipeline)).toContain('/src-checkout/dist:/app/dist:ro');
    expect(pipeline.environment?.WATCH_PATHS).toContain('/app/dist/pipeline');
    expect(volumes(worker)).toEqual(expect.arrayContaining(['/src-checkout/dist:/app/dist:ro', '/src-checkout/docker/config:/app/docker/config:ro']));
    expect(worker.environment?.WATCH_PATHS).toContain('/app/dist/activities');
    expect(worker.environment?.MCP_FLEET_WORKFLOW_BUNDLE).toBe(''); // bundles the mounted workflows, not the image's
    for (const service of [pipeline, worker]) expect(service.read_only).toBe(true);
    expect(dev.services.temporal.entrypoint).toBeUndefined();
  });

  it('prod: needs a pinned tag, two gateway replicas behind haproxy with redis, filesystem replicated, memory single, rotates logs, no source mounts', async () => {
    const unpinned = await config(['docker-compose.yml', 'docker-compose.prod.yml'], { MCP_FLEET_TAG: '' });
    expect(unpinned.code).not.toBe(0);
    expect(unpinned.stderr).toContain('set MCP_FLEET_TAG to the image version to deploy');
    const prod = await config(['docker-compose.yml', 'docker-compose.prod.yml'], { MCP_FLEET_TAG: '9.9.9' });
    expect(prod.code).toBe(0);
    const { gateway, memory, filesystem, pipeline, temporal, redis } = prod.services;
    const worker = prod.services['pipeline-worker'];
    const replicas = [prod.services['gateway-1'], prod.services['gateway-2']];
    expect(filesystem.deploy?.replicas).toBe(2);
    expect(memory.deploy?.replicas).toBe(1);
    expect(pipeline.deploy?.replicas).toBe(1);
    expect(worker.deploy?.replicas).toBe(1);
    expect(temporal.deploy?.replicas).toBe(1);
    // the published gateway is haproxy in front of the two replicas its config names
    expect(gateway.image).toBe('mcp-fleet/haproxy:9.9.9');
    expect(ports(gateway)).toEqual(['127.0.0.1:0:8080']);
    const lbServers = [...readFileSync(join(ROOT, 'haproxy', 'mcp-lb.cfg'), 'utf8').matchAll(/^\s*server (\S+) (\S+):8080/gm)].map((m) => [m[1], m[2]]);
    expect(new Set(lbServers.flat())).toEqual(new Set(['gateway-1', 'gateway-2']));
    expect(redis.image).toBe('mcp-fleet/redis:9.9.9');
    expect(prod.doc.networks.store.internal).toBe(true);
    for (const replica of replicas) {
      expect(replica.image).toBe('mcp-fleet/gateway:9.9.9');
      expect(replica.environment?.FILESYSTEM_URL).toBe('wss://filesystem:8080/ws');
      // TLS between the gateway and the bridges: the *.tls.yaml configs, the certificates as secrets
      expect(replica.command).toContain('/etc/mcp-fleet/gateway-replica.tls.yaml');
      expect(secrets(replica)).toEqual(expect.arrayContaining(['tls_ca', 'state_key', 'client_api_key']));
      expect(replica.environment?.STATE_KEY_FILE).toBe('/run/secrets/state_key');
    }
    for (const bridge of [memory, filesystem, pipeline]) {
      expect(bridge.command?.find((a) => a.endsWith('.tls.yaml'))).toMatch(/^\/etc\/mcp-fleet\/(pipeline-)?bridge\.tls\.yaml$/);
      expect(secrets(bridge)).toEqual(expect.arrayContaining(['tls_ca', 'tls_cert', 'tls_key']));
      expect(bridge.environment?.MCP_HEALTH_URL).toMatch(/^https:\/\/127\.0\.0\.1:8080\/health\//);
    }
    expect(prod.doc.secrets.tls_key.file).toBe(join(ROOT, '.state', 'tls', 'server.key'));
    const elsewhere = await config(['docker-compose.yml', 'docker-compose.prod.yml'], { MCP_FLEET_TAG: '9.9.9', MCP_FLEET_TLS_DIR: '/etc/mcp-fleet-tls' });
    expect(elsewhere.doc.secrets.tls_cert.file).toBe('/etc/mcp-fleet-tls/server.crt');
    for (const service of [gateway, ...replicas, redis, memory, filesystem, pipeline, worker, temporal]) {
      expect(service.image).toMatch(/^mcp-fleet\/[a-z-]+:9\.9\.9$/);
      expect(service.read_only).toBe(true);
      expect(service.logging?.options?.['max-size']).toBe('10m');
      expect(volumes(service).filter((v) => v.startsWith('/'))).toEqual([]); // named volumes only
    }
  });
});

describe('bad input', () => {
  it('an image that does not exist: the error names the service and the image, and nothing is created', async () => {
    const project = new ComposeProject(['docker-compose.yml'], { MCP_FLEET_TAG: 'no-such-tag' });
    try {
      const r = await project.compose('up', '-d');
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain("service 'memory' needs image 'mcp-fleet/mcp-server:no-such-tag'");
      expect(r.stderr).toContain("service 'gateway' needs image 'mcp-fleet/gateway:no-such-tag'");
      expect(r.stderr).toContain("service 'temporal' needs image 'mcp-fleet/temporal:no-such-tag'");
      expect(r.stderr).toContain('npm run docker:build');
      expect(await project.leftovers()).toEqual([]);
    } finally {
      await project.down();
    }
    expect(await project.leftovers()).toEqual([]);
  });
});
