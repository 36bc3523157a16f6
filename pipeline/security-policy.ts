/**
 * The stack's network policy (docker/security-policies.yml): which service may reach which service
 * or host on which port, which ports may be published, and which networks each service may join.
 * Validated once here; the compose audit, the listener audits and the firewall renderer
 * (pipeline/firewall-rules.ts) read the typed document. A bad file is one CONFIG_INVALID error
 * naming the file and every bad field.
 */
import { readFileSync } from 'node:fs';
import { isIPv4 } from 'node:net';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { zodProblems } from '../gateway/config/load';
import { FleetError } from '../gateway/protocol/errors';

/** Where the policy lives in the checkout. */
export const POLICY_FILE = 'docker/security-policies.yml';

const name = z.string().regex(/^[a-z0-9][a-z0-9_.-]{0,62}$/, 'a compose name: lowercase letters, digits, _ . - (at most 63)');
const port = z.number().int().min(1).max(65535);

const cidr = z.string().refine((s) => {
  const [ip, bits, ...rest] = s.split('/');
  return rest.length === 0 && isIPv4(ip) && (bits === undefined || (/^\d{1,2}$/.test(bits) && Number(bits) <= 32));
}, 'expected an IPv4 address or range, e.g. 10.0.0.0/8');

const networkSchema = z
  .object({
    /** No route out, no published ports (compose `internal: true`). */
    internal: z.boolean().default(false),
    /** Outbound NAT; false = a published port works, nothing inside reaches beyond the host. */
    masquerade: z.boolean().default(true),
  })
  .strict();

const serviceSchema = z
  .object({
    networks: z.array(name).min(1, 'a service joins at least one network'),
    /** Run by some compose variants only (the prod override's gateway replicas and their store): where it is absent, that is no finding. */
    optional: z.boolean().default(false),
    /** `config`: the gateway config (relative to the checkout) serving this port. */
    listen: z.array(z.object({ port, config: z.string().min(1).optional() }).strict()).default([]),
    publish: z.array(z.object({ port, bind: z.enum(['loopback', 'any']) }).strict()).default([]),
    egress: z
      .array(
        z.union([z.object({ service: name, port }).strict(), z.object({ cidr, port }).strict()], {
          error: 'expected { service, port } or { cidr, port }',
        }),
      )
      .default([]),
  })
  .strict();

const policySchema = z
  .object({
    networks: z.record(name, networkSchema),
    services: z.record(name, serviceSchema),
  })
  .strict();

export type SecurityPolicy = z.infer<typeof policySchema>;
export type ServicePolicy = z.infer<typeof serviceSchema>;
export type NetworkPolicy = z.infer<typeof networkSchema>;

/** Reads and validates FILE (YAML or JSON). */
export function loadSecurityPolicy(file: string): SecurityPolicy {
  let doc: unknown;
  try {
    doc = parseYaml(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new FleetError('CONFIG_INVALID', `cannot read security policy ${file}: ${(err as Error).message}`, { cause: err });
  }
  return parseSecurityPolicy(doc, file);
}

/** Validates a parsed document; `source` names it in errors. */
export function parseSecurityPolicy(doc: unknown, source: string): SecurityPolicy {
  const parsed = policySchema.safeParse(doc ?? {});
  const problems = parsed.success ? crossReferences(parsed.data) : zodProblems(parsed.error, []);
  if (problems.length) {
    throw new FleetError('CONFIG_INVALID', `invalid security policy ${source}:\n${problems.map((p) => `  - ${p}`).join('\n')}`, {
      data: { file: source, problems },
    });
  }
  return parsed.data as SecurityPolicy;
}

/** What the schema cannot see: names that must exist, ports that must be listened on, a shared network. */
function crossReferences(policy: SecurityPolicy): string[] {
  const problems: string[] = [];
  const networks = Object.keys(policy.networks);
  const services = Object.keys(policy.services);
  for (const [svc, s] of Object.entries(policy.services)) {
    const at = `services.${svc}`;
    s.networks.forEach((n, i) => {
      if (!policy.networks[n]) problems.push(`${at}.networks.${i}: no network "${n}" in networks (networks: ${networks.join(', ')})`);
    });
    const listening = s.listen.map((l) => l.port);
    s.publish.forEach((p, i) => {
      if (!listening.includes(p.port))
        problems.push(`${at}.publish.${i}.port: ${svc} does not listen on ${p.port} (listen: ${listening.join(', ') || 'none'})`);
      const internal = s.networks.filter((n) => policy.networks[n]?.internal);
      if (internal.length === s.networks.length)
        problems.push(`${at}.publish.${i}: ${svc} is on internal networks only (${internal.join(', ')}), which publish no ports`);
    });
    s.egress.forEach((e, i) => {
      if (!('service' in e)) return;
      const target = policy.services[e.service];
      if (!target) return problems.push(`${at}.egress.${i}.service: no service "${e.service}" in services (services: ${services.join(', ')})`);
      if (e.service === svc) return problems.push(`${at}.egress.${i}.service: a service needs no rule to reach itself`);
      if (!target.listen.some((l) => l.port === e.port))
        problems.push(`${at}.egress.${i}.port: ${e.service} does not listen on ${e.port} (listen: ${target.listen.map((l) => l.port).join(', ') || 'none'})`);
      if (!s.networks.some((n) => target.networks.includes(n)))
        problems.push(`${at}.egress.${i}: ${svc} and ${e.service} share no network, so ${svc} cannot reach it`);
    });
  }
  return problems;
}

/** The service-to-service connections the policy allows, each once: `from` may open TCP to `to`:`port`. */
export function allowedConnections(policy: SecurityPolicy): { from: string; to: string; port: number }[] {
  return Object.entries(policy.services).flatMap(([from, s]) => s.egress.flatMap((e) => ('service' in e ? [{ from, to: e.service, port: e.port }] : [])));
}
