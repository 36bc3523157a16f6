/**
 * iptables/mcp-rules.sh with real iptables, in network namespaces this test creates: the fleet's
 * services as hosts behind a router namespace, the script applied in the router (FORWARD, as it
 * would be in a host's DOCKER-USER). Real connections: every pair is open before the rules; with
 * them, exactly what docker/security-policies.yml allows stays open and the rest is refused; a
 * second run replaces the chain; --dry-run changes nothing; --delete opens everything again. The
 * namespaces are gone afterwards.
 */
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from '../containers/support/docker';
import { requireCurrentBuild } from '../helpers/dist';
import { NetnsLab, requireCommands, sh } from '../helpers/netns';

jest.setTimeout(120_000);

const SCRIPT = join(ROOT, 'iptables', 'mcp-rules.sh');
const lab = new NetnsLab();
const HOSTS = ['gateway', 'memory', 'pipeline', 'pipeline-worker', 'temporal', 'other'] as const;
let addressArgs: string[];

/** Every connection the test tries: [from, to, port, expected with the rules]. */
const MATRIX: [string, string, number, 'open' | 'refused'][] = [
  ['gateway', 'memory', 8080, 'open'], // the gateway reaches the bridges on 8080...
  ['gateway', 'pipeline', 8080, 'open'],
  ['gateway', 'memory', 9999, 'refused'], // ...and on no other port
  ['gateway', 'other', 8080, 'refused'], // and no host outside the fleet
  ['pipeline', 'temporal', 7233, 'open'], // the pipeline server starts and reads runs on Temporal...
  ['pipeline', 'gateway', 8080, 'refused'], // ...and runs no steps
  ['pipeline-worker', 'temporal', 7233, 'open'], // the worker polls Temporal
  ['pipeline-worker', 'gateway', 8080, 'open'], // its steps call the gateway
  ['pipeline-worker', 'memory', 8080, 'refused'],
  ['memory', 'gateway', 8080, 'refused'], // the servers reach nothing
  ['memory', 'temporal', 7233, 'refused'],
  ['memory', 'other', 8080, 'refused'],
  ['other', 'gateway', 8080, 'open'], // the gateway's port is published on any address
  ['other', 'memory', 8080, 'refused'], // nothing else is reachable from outside
  ['other', 'temporal', 7233, 'refused'],
  ['other', 'temporal', 8233, 'refused'], // the UI is published on the host's loopback only
];

const script = (...args: string[]) => sh('ip', ['netns', 'exec', lab.router, 'bash', SCRIPT, ...args]);
const iptables = (...args: string[]) => sh('ip', ['netns', 'exec', lab.router, 'iptables', ...args]);

async function probeAll(): Promise<string[]> {
  const out: string[] = [];
  for (const [from, to, port] of MATRIX) out.push(`${from} -> ${to}:${port} ${await lab.probe(from, to, port)}`);
  return out;
}
const expected = (withRules: boolean) => MATRIX.map(([from, to, port, e]) => `${from} -> ${to}:${port} ${withRules ? e : 'open'}`);

beforeAll(async () => {
  requireCurrentBuild(['pipeline', 'activities', 'gateway/config', 'gateway/protocol']);
  await requireCommands({ iptables: 'iptables', 'iptables-restore': 'iptables', ip: 'iproute2' });
  await lab.start();
  for (const h of HOSTS) await lab.addHost(h);
  for (const h of HOSTS) await lab.listen(h, [8080, 7233, 8233, 9999]);
  addressArgs = HOSTS.filter((h) => h !== 'other').flatMap((h) => ['--address', `${h}=${lab.ip(h)}`]);
});

afterAll(async () => {
  await lab.destroy();
  expect(await lab.namespaces()).toEqual([]);
});

describe('iptables/mcp-rules.sh in network namespaces', () => {
  it('before any rule, every connection of the matrix is open (so a refusal later is the firewall)', async () => {
    expect(await probeAll()).toEqual(expected(false));
  });

  it('--dry-run prints the chain and the hook and changes nothing', async () => {
    const before = await iptables('-S');
    const r = await script('--dry-run', ...addressArgs);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(':MCP-FLEET - [0:0]');
    expect(r.stdout).toContain(`-A MCP-FLEET -s ${lab.ip('gateway')}/32 -d ${lab.ip('memory')}/32 -p tcp --dport 8080`);
    expect(r.stdout).toContain('# hook: iptables -I FORWARD 1 -j MCP-FLEET'); // no DOCKER-USER in this namespace
    expect(await iptables('-S')).toEqual(before);
  });

  it('applied, exactly what the policy allows is open and the rest refused', async () => {
    const r = await script(...addressArgs);
    expect(r).toMatchObject({ code: 0, stdout: expect.stringContaining('chain MCP-FLEET applied') });
    expect(r.stdout).toContain('hooked into FORWARD');
    expect(await probeAll()).toEqual(expected(true));
  });

  it('a second run replaces the chain: the same rules, hooked once', async () => {
    const first = (await iptables('-S', 'MCP-FLEET')).stdout;
    expect((await script(...addressArgs)).code).toBe(0);
    expect((await iptables('-S', 'MCP-FLEET')).stdout).toEqual(first);
    const hooks = (await iptables('-S', 'FORWARD')).stdout.split('\n').filter((l) => l.includes('-j MCP-FLEET'));
    expect(hooks).toEqual(['-A FORWARD -j MCP-FLEET']);
  });

  it('a run with other addresses replaces the old rules (no stale address stays allowed)', async () => {
    // memory moves to the "other" host: memory's old address is no fleet member any more
    const moved = addressArgs.map((a) => (a === `memory=${lab.ip('memory')}` ? `memory=${lab.ip('other')}` : a));
    expect((await script(...moved)).code).toBe(0);
    expect(await lab.probe('gateway', 'other', 8080)).toBe('open');
    const rules = (await iptables('-S', 'MCP-FLEET')).stdout;
    expect(rules).not.toContain(`${lab.ip('memory')}/32`);
    expect((await script(...addressArgs)).code).toBe(0);
    expect(await probeAll()).toEqual(expected(true));
  });

  it('refuses bad input with the option, the service or the policy field, and leaves the rules as they were', async () => {
    const before = (await iptables('-S')).stdout;
    const unknown = await script('--address', 'nosuch=10.9.9.9');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain(
      'no service "nosuch" in the policy (services: gateway, gateway-1, gateway-2, redis, memory, filesystem, pipeline, pipeline-worker, temporal, prometheus)',
    );
    const badIp = await script('--address', 'memory=10.1.2');
    expect(badIp.stderr).toContain('--address memory=10.1.2: expected SERVICE=IPv4[,IPv4...]');
    const dir = mkdtempSync(join(tmpdir(), 'mcp-rules-'));
    try {
      const policy = join(dir, 'policy.yml');
      writeFileSync(policy, 'networks: { backend: {} }\nservices:\n  memory: { networks: [backend], egress: [{ service: ghost, port: 80 }] }\n');
      const bad = await script('--policy', policy, '--address', 'memory=10.1.2.3');
      expect(bad.code).toBe(2);
      expect(bad.stderr).toContain(`invalid security policy ${policy}`);
      expect(bad.stderr).toContain('services.memory.egress.0.service: no service "ghost" in services (services: memory)');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    expect((await script('--bogus')).stderr).toContain('unknown option --bogus');
    expect((await script()).stderr).toContain('give the fleet addresses with --address SERVICE=IP (repeatable) or --project NAME');
    expect((await iptables('-S')).stdout).toEqual(before);
  });

  it('--delete unhooks and removes the chain, and every connection is open again', async () => {
    const r = await script('--delete');
    expect(r).toMatchObject({ code: 0, stdout: expect.stringContaining('chain MCP-FLEET removed') });
    expect((await iptables('-S', 'MCP-FLEET')).code).not.toBe(0);
    expect((await iptables('-S', 'FORWARD')).stdout).not.toContain('MCP-FLEET');
    expect(await probeAll()).toEqual(expected(false));
    expect((await script('--delete')).code).toBe(0); // nothing to remove is fine
  });
});
