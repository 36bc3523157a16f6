/**
 * security-hardening, the network policy: docker/security-policies.yml is valid, and every compose
 * variant the repository ships follows it: each service joins only the networks the policy gives
 * it, publishes only the ports it may (on loopback where it says so), the networks are as
 * internal as the policy says, and every connection the policy allows is possible.
 */
import type { StepInput, StepResult } from '../pipeline/types';
import { allowedConnections, type SecurityPolicy } from '../pipeline/security-policy';
import type { Finding } from './hardening';
import { heartbeat } from './runtime';
import { COMPOSE_VARIANTS, composeConfig, findingsResult, stepPolicy, type ComposeDoc } from './stack-config';

const isLoopback = (ip: string) => /^127\./.test(ip) || ip === '::1' || ip === 'localhost';

/** Where `doc` (one resolved compose variant) departs from `policy`; pure, exported for tests. */
export function composePolicyFindings(policy: SecurityPolicy, doc: ComposeDoc): Finding[] {
  const findings: Finding[] = [];
  const add = (subject: string, rule: string, found: string) => findings.push({ subject, rule, found: `${found} in ${doc.label}` });
  for (const [svc, s] of Object.entries(doc.services)) {
    const p = policy.services[svc];
    if (!p) {
      add(svc, 'is a service the network policy names', 'not in the policy');
      continue;
    }
    for (const n of s.networks.filter((x) => !p.networks.includes(x)))
      add(svc, `joins only the networks the policy allows (${p.networks.join(', ')})`, `on ${n}`);
    for (const port of s.ports) {
      const allowed = p.publish.find((x) => x.port === port.target);
      const where = port.hostIp || 'all interfaces';
      if (!allowed)
        add(svc, `publishes only the ports the policy allows (${p.publish.map((x) => x.port).join(', ') || 'none'})`, `publishes ${port.target} on ${where}`);
      else if (allowed.bind === 'loopback' && !isLoopback(port.hostIp)) add(svc, `publishes ${port.target} on loopback only`, `on ${where}`);
    }
  }
  for (const [svc, p] of Object.entries(policy.services))
    if (!doc.services[svc] && !p.optional) add(svc, 'runs in the stack the policy describes', 'no such service');
  for (const [name, n] of Object.entries(policy.networks)) {
    const c = doc.networks[name];
    const used = Object.values(doc.services).some((s) => s.networks.includes(name));
    if (!c) {
      if (used) add(name, 'is a network of the stack', 'not defined');
      continue;
    }
    if (n.internal && !c.internal) add(name, 'is internal (no route out), as the policy says', 'internal false');
    if (!n.masquerade && c.masquerade) add(name, 'has outbound NAT off (enable_ip_masquerade: "false"), as the policy says', 'NAT on');
  }
  for (const c of allowedConnections(policy)) {
    const [from, to] = [doc.services[c.from], doc.services[c.to]];
    if (from && to && !from.networks.some((n) => to.networks.includes(n))) add(c.from, `can reach ${c.to}:${c.port} as the policy allows`, 'no shared network');
  }
  return findings;
}

/**
 * The policy (params.policy, default docker/security-policies.yml) against every compose variant
 * (base, dev, prod, pipeline-engine), or against params.files only when given. An invalid policy
 * is itself the finding.
 */
export async function auditNetworkPolicy(input: StepInput): Promise<StepResult> {
  let loaded: ReturnType<typeof stepPolicy>;
  try {
    loaded = stepPolicy(input);
  } catch (err) {
    return {
      outcome: 'failed',
      summary: (err as Error).message,
      details: { findings: [{ subject: 'policy', rule: 'is valid', found: (err as Error).message }] },
    };
  }
  const variants = Array.isArray(input.params.files) ? { given: (input.params.files as unknown[]).map(String) } : COMPOSE_VARIANTS;
  const findings: Finding[] = [];
  const checked: string[] = [];
  for (const files of Object.values(variants)) {
    heartbeat(`checking ${files.join(' + ')} against the network policy`);
    const doc = await composeConfig(files);
    checked.push(doc.label);
    findings.push(...composePolicyFindings(loaded.policy, doc));
  }
  return findingsResult('network policy', findings, `${loaded.file} is valid and ${checked.length} compose variants follow it (${checked.join('; ')})`, {
    policy: loaded.file,
    variants: checked,
  });
}
