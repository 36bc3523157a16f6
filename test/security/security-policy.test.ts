/**
 * pipeline/security-policy.ts: the checkout's docker/security-policies.yml is valid and says what
 * the stack does; every kind of bad document is refused naming the file and the field.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { renderFirewall } from '../../pipeline/firewall-rules';
import { allowedConnections, loadSecurityPolicy, parseSecurityPolicy, POLICY_FILE } from '../../pipeline/security-policy';
import { ROOT } from '../containers/support/docker';

const policy = () => loadSecurityPolicy(join(ROOT, POLICY_FILE));

/** The message of parsing `yaml` as a policy named test.yml. */
function refusal(yaml: string): string {
  try {
    parseSecurityPolicy(parseYaml(yaml), 'test.yml');
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error('the document was accepted');
}

const NETS = 'networks: { frontend: {}, backend: { internal: true } }\n';

describe('docker/security-policies.yml', () => {
  it('is valid: the gateway reaches the bridges on 8080, the pipeline Temporal, its worker Temporal and the gateway, the servers nothing', () => {
    const p = policy();
    const replica = (from: string) => [
      { from, to: 'memory', port: 8080 },
      { from, to: 'filesystem', port: 8080 },
      { from, to: 'pipeline', port: 8080 },
      { from, to: 'redis', port: 6379 },
    ];
    expect(allowedConnections(p)).toEqual([
      { from: 'gateway', to: 'memory', port: 8080 },
      { from: 'gateway', to: 'filesystem', port: 8080 },
      { from: 'gateway', to: 'pipeline', port: 8080 },
      // the prod override's: haproxy (the gateway service there) in front of two replicas sharing redis
      { from: 'gateway', to: 'gateway-1', port: 8080 },
      { from: 'gateway', to: 'gateway-2', port: 8080 },
      ...replica('gateway-1'),
      ...replica('gateway-2'),
      { from: 'pipeline', to: 'temporal', port: 7233 },
      { from: 'pipeline-worker', to: 'temporal', port: 7233 },
      { from: 'pipeline-worker', to: 'gateway', port: 8080 },
      // the observability profile's Prometheus scrapes both
      { from: 'prometheus', to: 'gateway', port: 8080 },
      { from: 'prometheus', to: 'pipeline-worker', port: 9464 },
    ]);
    expect(p.networks.backend.internal).toBe(true);
    expect(p.networks.store.internal).toBe(true);
    expect(p.services.redis).toMatchObject({ optional: true, networks: ['store'], egress: [], publish: [] });
    expect(p.services.memory).toMatchObject({ networks: ['backend'], egress: [], publish: [] });
    expect(Object.entries(p.services).flatMap(([s, x]) => x.publish.map((pub) => `${s}:${pub.port}:${pub.bind}`))).toEqual([
      'gateway:8080:any',
      'temporal:8233:loopback',
      'prometheus:9090:loopback',
    ]);
  });
});

describe('bad policy documents', () => {
  it.each([
    ['a typo in a key', `${NETS}services: { gateway: { networks: [frontend], egres: [] } }`, 'services.gateway: Unrecognized key: "egres"'],
    ['a port out of range', `${NETS}services: { gateway: { networks: [frontend], listen: [{ port: 70000 }] } }`, 'services.gateway.listen.0.port: Too big'],
    [
      'an unknown network',
      `${NETS}services: { gateway: { networks: [frontnd] } }`,
      'services.gateway.networks.0: no network "frontnd" in networks (networks: frontend, backend)',
    ],
    [
      'egress to an unknown service',
      `${NETS}services: { gateway: { networks: [backend], egress: [{ service: memroy, port: 8080 }] } }`,
      'services.gateway.egress.0.service: no service "memroy" in services (services: gateway)',
    ],
    [
      'egress to a port the target does not listen on',
      `${NETS}services:\n  gateway: { networks: [backend], egress: [{ service: memory, port: 9090 }] }\n  memory: { networks: [backend], listen: [{ port: 8080 }] }`,
      'services.gateway.egress.0.port: memory does not listen on 9090 (listen: 8080)',
    ],
    [
      'egress between services with no shared network',
      `${NETS}services:\n  gateway: { networks: [frontend], egress: [{ service: memory, port: 8080 }] }\n  memory: { networks: [backend], listen: [{ port: 8080 }] }`,
      'services.gateway.egress.0: gateway and memory share no network, so gateway cannot reach it',
    ],
    [
      'a published port on internal networks only',
      `${NETS}services: { memory: { networks: [backend], listen: [{ port: 8080 }], publish: [{ port: 8080, bind: any }] } }`,
      'services.memory.publish.0: memory is on internal networks only (backend), which publish no ports',
    ],
    [
      'a published port nobody listens on',
      `${NETS}services: { gateway: { networks: [frontend], publish: [{ port: 8080, bind: loopback }] } }`,
      'services.gateway.publish.0.port: gateway does not listen on 8080 (listen: none)',
    ],
    [
      'a bad bind',
      `${NETS}services: { gateway: { networks: [frontend], listen: [{ port: 1 }], publish: [{ port: 1, bind: all }] } }`,
      'services.gateway.publish.0.bind: Invalid option',
    ],
    [
      'a bad range',
      `${NETS}services: { gateway: { networks: [frontend], egress: [{ cidr: 10.0.0.0/33, port: 443 }] } }`,
      'services.gateway.egress.0.cidr: expected an IPv4 address or range, e.g. 10.0.0.0/8',
    ],
    [
      'an egress of neither kind',
      `${NETS}services: { gateway: { networks: [frontend], egress: [{ host: example.org }] } }`,
      'services.gateway.egress.0: expected { service, port } or { cidr, port }',
    ],
    ['no services', NETS, 'services: Invalid input: expected record, received undefined'],
  ])('%s', (_what, yaml, problem) => {
    const message = refusal(yaml);
    expect(message).toMatch(/^invalid security policy test\.yml:\n {2}- /);
    expect(message).toContain(problem);
  });

  it('a file that is missing or not YAML is named', () => {
    const dir = mkdtempSync(join(tmpdir(), 'policy-'));
    try {
      expect(() => loadSecurityPolicy(join(dir, 'none.yml'))).toThrow(`cannot read security policy ${join(dir, 'none.yml')}: ENOENT`);
      writeFileSync(join(dir, 'bad.yml'), 'services: [unclosed');
      expect(() => loadSecurityPolicy(join(dir, 'bad.yml'))).toThrow(`cannot read security policy ${join(dir, 'bad.yml')}: `);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('renderFirewall', () => {
  it('refuses addresses of a service the policy does not name, and a bad chain name', () => {
    expect(() => renderFirewall(policy(), { ghost: ['10.0.0.1'] })).toThrow(
      'no service "ghost" in the policy (services: gateway, gateway-1, gateway-2, redis, memory, filesystem, pipeline, pipeline-worker, temporal, prometheus)',
    );
    expect(() => renderFirewall(policy(), {}, 'bad chain')).toThrow('chain name must be 1-28 of A-Z a-z 0-9 _ - (got "bad chain")');
  });

  it('allows host ranges a service may reach, and leaves services without addresses out', () => {
    const p = parseSecurityPolicy(parseYaml(`${NETS}services: { gateway: { networks: [frontend], egress: [{ cidr: 203.0.113.0/24, port: 443 }] } }`), 'x');
    const rules = renderFirewall(p, { gateway: ['10.1.0.2'] });
    expect(rules).toContain('-A MCP-FLEET -s 10.1.0.2/32 -d 203.0.113.0/24 -p tcp --dport 443 -m comment --comment "gateway -> 203.0.113.0/24:443" -j RETURN');
    expect(
      renderFirewall(p, {})
        .split('\n')
        .filter((l) => l.startsWith('-A')),
    ).toHaveLength(1); // the ESTABLISHED rule only
  });
});
