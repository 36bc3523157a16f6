/**
 * The prod override's TLS configs (docker/config/*.tls.yaml) against the files they vary: each is
 * its base file plus `tls:` (and https/wss where the base says http/ws), and the gateway replicas'
 * gateway-replica.tls.yaml is gateway.tls.yaml plus what replicas share, so none can drift; each
 * loads as a gateway config; the files they name are the compose secrets the prod override gives
 * the service running it, and the images carry them where the override's commands look.
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { parseConfig } from '../../gateway/config/load';
import { testSecret } from '../helpers/secret-values';

const ROOT = resolve(__dirname, '..', '..');
const CONFIG = join(ROOT, 'docker', 'config');
// merge: the prod override builds its replicas from anchors (<<)
const yaml = (file: string) => parseYaml(readFileSync(join(ROOT, file), 'utf8'), { merge: true }) as Record<string, any>;

/** A TLS variant with its TLS taken out again: no tls keys, http/ws URLs. */
function withoutTls(doc: Record<string, any>): Record<string, any> {
  const { tls: _tls, ...rest } = doc;
  const servers = Object.fromEntries(
    Object.entries(rest.servers as Record<string, Record<string, unknown>>).map(([name, { tls: _t, ...server }]) => [
      name,
      typeof server.url === 'string' ? { ...server, url: server.url.replace('https://', 'http://').replace('wss://', 'ws://') } : server,
    ]),
  );
  const plain = (url: string) => url.replace('https://', 'http://').replace('wss://', 'ws://');
  const admin = rest.admin?.register ? { ...rest.admin, register: { ...rest.admin.register, urls: rest.admin.register.urls.map(plain) } } : rest.admin;
  return { ...rest, ...(admin ? { admin } : {}), servers };
}

const VARIANTS = [
  ['gateway.tls.yaml', 'gateway.yaml'],
  ['bridge.tls.yaml', 'bridge.yaml'],
  ['pipeline-bridge.tls.yaml', 'pipeline-bridge.yaml'],
] as const;

/** Each TLS config, the prod service that runs it, and the image that carries it. */
const RUN_BY = [
  ['gateway-replica.tls.yaml', 'gateway-1', 'Dockerfile.gateway'],
  ['gateway-replica.tls.yaml', 'gateway-2', 'Dockerfile.gateway'],
  ['bridge.tls.yaml', 'memory', 'Dockerfile.mcp-server'],
  ['bridge.tls.yaml', 'filesystem', 'Dockerfile.mcp-server'],
  ['pipeline-bridge.tls.yaml', 'pipeline', 'Dockerfile.mcp-server'],
] as const;

const prod = yaml('docker-compose.prod.yml');
const env = {
  ADMIN_TOKEN: testSecret('a-token-long-enough-0123456789-abcdefgh'),
  CLIENT_API_KEY: testSecret('a-client-key-long-enough-0123456789-abc'),
  UPSTREAM_TOKEN: testSecret('an-upstream-key-long-enough-0123456789'),
  STATE_KEY: testSecret('a-state-key-long-enough-0123456789-abcdef'),
  TEMPORAL_ADDRESS: 'temporal:7233',
  FILESYSTEM_URL: prod.services['gateway-1'].environment.FILESYSTEM_URL,
};

it.each(VARIANTS)('%s is %s with TLS added, nothing else', (variant, base) => {
  expect(withoutTls(yaml(`docker/config/${variant}`))).toEqual(yaml(`docker/config/${base}`));
});

it('gateway-replica.tls.yaml is gateway.tls.yaml plus the redis store, shared rate limits, the shared state key, and filesystem as a DNS replica set', () => {
  const { store, rateLimits, stateless, ...rest } = yaml('docker/config/gateway-replica.tls.yaml');
  // only the prod override runs filesystem twice: there every replica is a backend, reads retried on another
  const { dns, retry, ...filesystem } = rest.servers.filesystem;
  expect({ ...rest, servers: { ...rest.servers, filesystem } }).toEqual(yaml('docker/config/gateway.tls.yaml'));
  expect({ store, rateLimits, stateless, dns, retry }).toEqual({
    store: { redis: { url: 'redis://redis:6379' } },
    rateLimits: { shared: true },
    stateless: { stateKeys: [{ id: 'prod-1', secret: '${STATE_KEY}' }] },
    dns: { intervalMs: 5000 },
    retry: { attempts: 2 },
  });
  const config = parseConfig(yaml('docker/config/gateway-replica.tls.yaml'), 'gateway-replica.tls.yaml', {}, env);
  expect(config.stateless.stateKeys).toEqual([{ id: 'prod-1', secret: env.STATE_KEY }]);
});

it.each(RUN_BY)('%s loads, and names only secrets the prod override gives the %s service', (variant, service, dockerfileName) => {
  const config = parseConfig(yaml(`docker/config/${variant}`), variant, {}, env);
  const files = [config.tls?.certFile, config.tls?.keyFile, ...config.servers.map((s) => (s.kind === 'remote' ? s.tls?.caFile : undefined))].filter(
    (f): f is string => f !== undefined,
  );
  expect(files.length).toBeGreaterThan(0);
  const given = (prod.services[service].secrets as string[]).map((s) => `/run/secrets/${s}`);
  for (const file of files) expect(given).toContain(file);
  const command = prod.services[service].command as string[];
  expect(command.slice(command.indexOf('--config'), command.indexOf('--config') + 2)).toEqual(['--config', `/etc/mcp-fleet/${variant}`]);
  const dockerfile = readFileSync(join(ROOT, 'docker', dockerfileName), 'utf8');
  expect(dockerfile).toMatch(new RegExp(`^COPY .*docker/config/${variant.replace(/\./g, '\\.')}.* /etc/mcp-fleet/$`, 'm'));
});

it('the gateway reaches every bridge over https or wss, verified with the stack CA', () => {
  const config = parseConfig(yaml('docker/config/gateway.tls.yaml'), 'gateway.tls.yaml', {}, env);
  expect(config.servers.map((s) => s.kind === 'remote' && [s.name, s.url, s.tls?.caFile])).toEqual([
    ['memory', 'https://memory:8080/mcp', '/run/secrets/tls_ca'],
    ['filesystem', 'wss://filesystem:8080/ws', '/run/secrets/tls_ca'],
    ['pipeline', 'https://pipeline:8080/mcp', '/run/secrets/tls_ca'],
  ]);
  expect(Object.keys(prod.secrets)).toEqual(['tls_ca', 'tls_cert', 'tls_key', 'state_key']);
  expect(readFileSync(join(CONFIG, 'bridge.tls.yaml'), 'utf8')).toContain('certFile: /run/secrets/tls_cert');
});
