/**
 * `node dist/pipeline/firewall-cli.js`: prints the policy's firewall chain as iptables-restore
 * input, for iptables/mcp-rules.sh. The fleet's addresses come from `--address SERVICE=IP[,IP...]`
 * (repeatable) or, with `--project NAME`, from the running containers of that compose project.
 *
 *   firewall-cli.js [--policy FILE] [--chain NAME] (--address SERVICE=IP... | --project NAME)
 *
 * Exit 0 with the rules on stdout; exit 2 with the reason on stderr.
 */
import { isIPv4 } from 'node:net';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { projectContainers, SERVICE_LABEL } from '../activities/engine';
import { checkoutRoot } from '../activities/runtime';
import { FleetError } from '../gateway/protocol/errors';
import { DEFAULT_CHAIN, renderFirewall, type ServiceAddresses } from './firewall-rules';
import { loadSecurityPolicy, POLICY_FILE } from './security-policy';

/** `SERVICE=IP[,IP...]` options as one map; a bad one is a BAD_USAGE naming it. */
export function parseAddresses(options: string[]): ServiceAddresses {
  const out: ServiceAddresses = {};
  for (const option of options) {
    const m = /^([a-z0-9][a-z0-9_.-]*)=(.+)$/.exec(option);
    const ips = m?.[2].split(',') ?? [];
    if (!m || !ips.every((ip) => isIPv4(ip))) throw new FleetError('BAD_USAGE', `--address ${option}: expected SERVICE=IPv4[,IPv4...], e.g. memory=172.20.0.3`);
    out[m[1]] = [...(out[m[1]] ?? []), ...ips];
  }
  return out;
}

/** The IPv4 addresses of a compose project's running containers, by service, on every network they joined. */
export async function projectAddresses(project: string): Promise<ServiceAddresses> {
  const out: ServiceAddresses = {};
  for (const c of await projectContainers(project)) {
    const service = c.Labels[SERVICE_LABEL];
    if (c.State !== 'running' || !service) continue;
    const ips = Object.values(c.NetworkSettings?.Networks ?? {})
      .map((n) => n.IPAddress)
      .filter((ip) => isIPv4(ip));
    out[service] = [...(out[service] ?? []), ...ips];
  }
  if (Object.keys(out).length === 0) throw new FleetError('BAD_INPUT', `no running containers in compose project ${project}; start it, or pass --address`);
  return out;
}

export async function main(argv: string[]): Promise<number> {
  try {
    const { values } = parseArgs({
      args: argv,
      options: {
        policy: { type: 'string' },
        chain: { type: 'string', default: DEFAULT_CHAIN },
        address: { type: 'string', multiple: true, default: [] },
        project: { type: 'string' },
      },
      strict: true,
    });
    if (values.address.length > 0 === (values.project !== undefined))
      throw new FleetError('BAD_USAGE', 'give the fleet addresses with --address SERVICE=IP (repeatable) or --project NAME, not both');
    const policy = loadSecurityPolicy(values.policy ?? resolve(checkoutRoot(), POLICY_FILE));
    const addresses = values.project !== undefined ? await projectAddresses(values.project) : parseAddresses(values.address);
    process.stdout.write(renderFirewall(policy, addresses, values.chain));
    return 0;
  } catch (err) {
    process.stderr.write(`firewall-cli: ${(err as Error).message}\n`);
    return 2;
  }
}

if (require.main === module) void main(process.argv.slice(2)).then((code) => (process.exitCode = code));
