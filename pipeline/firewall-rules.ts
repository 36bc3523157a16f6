/**
 * The network policy as host firewall rules: one iptables chain, as `iptables-restore --noflush`
 * input (declaring the chain flushes it, so applying it again replaces it in one step).
 * iptables/mcp-rules.sh applies it and hooks the chain into DOCKER-USER (or FORWARD).
 *
 * The chain only ever refuses: traffic the policy allows RETURNs to the rules after it (Docker's
 * own, which may refuse more), and every other new connection from or to a fleet address is
 * rejected. Replies of allowed connections pass as ESTABLISHED.
 */
import { FleetError } from '../gateway/protocol/errors';
import type { SecurityPolicy } from './security-policy';

/** Service name → its IPv4 addresses (a replicated service has several). */
export type ServiceAddresses = Record<string, string[]>;

export const DEFAULT_CHAIN = 'MCP-FLEET';

interface Rule {
  match: string;
  comment: string;
  target: 'RETURN' | 'REJECT';
}

/**
 * The iptables-restore text for `policy` with the fleet at `addresses`. A service of the policy
 * without addresses is left out (not running); an address for a service the policy does not name
 * is an error, as the policy would say nothing about it.
 */
export function renderFirewall(policy: SecurityPolicy, addresses: ServiceAddresses, chain = DEFAULT_CHAIN): string {
  const unknown = Object.keys(addresses).filter((s) => !policy.services[s]);
  if (unknown.length)
    throw new FleetError(
      'BAD_INPUT',
      `no service ${unknown.map((s) => `"${s}"`).join(', ')} in the policy (services: ${Object.keys(policy.services).join(', ')})`,
    );
  if (!/^[A-Za-z0-9_-]{1,28}$/.test(chain)) throw new FleetError('BAD_INPUT', `chain name must be 1-28 of A-Z a-z 0-9 _ - (got "${chain}")`);
  const ips = (svc: string) => addresses[svc] ?? [];
  const services = Object.entries(policy.services);
  const rules: Rule[] = [{ match: '-m conntrack --ctstate ESTABLISHED,RELATED', comment: 'replies of allowed connections', target: 'RETURN' }];
  for (const [svc, s] of services) {
    for (const e of s.egress) {
      const dests = 'service' in e ? ips(e.service).map((ip) => ({ ip, label: `${e.service}:${e.port}` })) : [{ ip: e.cidr, label: `${e.cidr}:${e.port}` }];
      for (const src of ips(svc))
        for (const d of dests)
          rules.push({ match: `-s ${host(src)} -d ${host(d.ip)} -p tcp --dport ${e.port}`, comment: `${svc} -> ${d.label}`, target: 'RETURN' });
    }
  }
  // Before the published ports: a fleet member reaches a published port only through its egress.
  for (const [svc] of services) for (const ip of ips(svc)) rules.push({ match: `-s ${host(ip)}`, comment: `${svc} reaches nothing else`, target: 'REJECT' });
  // A port published on any address is reached from wherever the host is (forwarded after DNAT).
  // One published on loopback is reached by the host itself, whose traffic does not pass FORWARD.
  for (const [svc, s] of services)
    for (const p of s.publish.filter((x) => x.bind === 'any'))
      for (const ip of ips(svc)) rules.push({ match: `-d ${host(ip)} -p tcp --dport ${p.port}`, comment: `published ${svc}:${p.port}`, target: 'RETURN' });
  for (const [svc] of services) for (const ip of ips(svc)) rules.push({ match: `-d ${host(ip)}`, comment: `nothing else reaches ${svc}`, target: 'REJECT' });
  const lines = rules.map((r) => `-A ${chain} ${r.match} -m comment --comment "${r.comment}" -j ${r.target}`);
  return ['*filter', `:${chain} - [0:0]`, ...lines, 'COMMIT', ''].join('\n');
}

/** An address or range as iptables writes it (a single address as /32). */
function host(ip: string): string {
  return ip.includes('/') ? ip : `${ip}/32`;
}
