/**
 * The stack as its files describe it, for the security audits: the network policy, and the
 * compose files as compose resolves them (`compose config`, v1 or v2 output) for each variant the
 * repository ships (base, dev, prod, pipeline-engine), read field by field into one shape.
 */
import { resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { FleetError } from '../gateway/protocol/errors';
import type { StepInput } from '../pipeline/types';
import { loadSecurityPolicy, POLICY_FILE, type SecurityPolicy } from '../pipeline/security-policy';
import { compose } from './compose';
import type { Finding } from './hardening';
import { checkoutRoot, failure, tail, toApplicationFailure } from './runtime';

/** The compose file sets the repository ships, by name. */
export const COMPOSE_VARIANTS: Record<string, string[]> = {
  base: ['docker-compose.yml'],
  dev: ['docker-compose.yml', 'docker-compose.dev.yml'],
  prod: ['docker-compose.yml', 'docker-compose.prod.yml'],
  'pipeline-engine': ['docker-compose.yml', 'docker-compose.pipeline-engine.yml'],
};

export interface ComposePort {
  /** '' = every interface */
  hostIp: string;
  target: number;
}

export interface ComposeService {
  networks: string[];
  ports: ComposePort[];
  environment: Record<string, string>;
  command: string[];
}

export interface ComposeDoc {
  /** The files, for messages. */
  label: string;
  services: Record<string, ComposeService>;
  networks: Record<string, { internal: boolean; masquerade: boolean }>;
}

/** The policy of a step: params.policy (relative to the checkout), else docker/security-policies.yml. */
export function stepPolicy(input: Pick<StepInput, 'params'>): { file: string; policy: SecurityPolicy } {
  const file = resolve(checkoutRoot(), String(input.params.policy ?? POLICY_FILE));
  try {
    return { file, policy: loadSecurityPolicy(file) };
  } catch (err) {
    // a bad policy is not fixed by a retry
    throw err instanceof FleetError ? toApplicationFailure(err) : err;
  }
}

/**
 * `compose config` of `files` (relative to the checkout), read into a ComposeDoc. The variables the
 * overrides insist on get placeholders (a tag, the socket's group): their values are not audited.
 */
export async function composeConfig(files: string[], env: Record<string, string> = {}): Promise<ComposeDoc> {
  const label = files.join(' + ');
  const stack = {
    project: 'mcp-fleet-audit',
    files: files.map((f) => resolve(checkoutRoot(), f)),
    env: { MCP_FLEET_TAG: process.env.MCP_FLEET_TAG || '0.0.0-audit', DOCKER_GID: process.env.DOCKER_GID || '0', ...env },
  };
  const r = await compose(stack, ['config'], `resolving ${label}`);
  if (r.code !== 0) throw failure('CHECK_FAILED', `compose rejects ${label}: ${tail(r.stderr, 3)}`);
  return readComposeDoc(parseYaml(r.stdout) as RawCompose, label);
}

/** `compose config` output as v1 and v2 print it, only the fields the audits read. */
interface RawCompose {
  services?: Record<
    string,
    { networks?: string[] | Record<string, unknown>; ports?: unknown[]; environment?: string[] | Record<string, unknown>; command?: string | string[] }
  >;
  networks?: Record<string, { internal?: boolean; driver_opts?: Record<string, unknown> } | null>;
}

/** A parsed `compose config` document in one shape, whichever compose printed it. */
export function readComposeDoc(doc: RawCompose, label: string): ComposeDoc {
  const services: ComposeDoc['services'] = {};
  for (const [name, s] of Object.entries(doc?.services ?? {})) {
    services[name] = {
      networks: Array.isArray(s.networks) ? s.networks.map(String) : Object.keys(s.networks ?? { default: null }),
      ports: (s.ports ?? []).map(readPort),
      environment: Object.fromEntries(
        Array.isArray(s.environment)
          ? s.environment.map((e: string) => e.split(/=(.*)/s, 2))
          : Object.entries(s.environment ?? {}).map(([k, v]) => [k, String(v ?? '')]),
      ),
      command: Array.isArray(s.command) ? s.command.map(String) : typeof s.command === 'string' ? s.command.split(/\s+/) : [],
    };
  }
  const networks: ComposeDoc['networks'] = {};
  for (const [name, n] of Object.entries(doc?.networks ?? {})) {
    networks[name] = {
      internal: n?.internal === true,
      masquerade: String(n?.driver_opts?.['com.docker.network.bridge.enable_ip_masquerade'] ?? 'true') !== 'false',
    };
  }
  return { label, services, networks };
}

/** "[HOST_IP:][PUBLISHED:]TARGET[/PROTO]" (v1) or { host_ip, published, target } (v2). */
function readPort(p: unknown): ComposePort {
  if (typeof p === 'object' && p !== null) {
    const o = p as { host_ip?: string; target: number };
    return { hostIp: o.host_ip ?? '', target: Number(o.target) };
  }
  const parts = String(p)
    .replace(/\/\w+$/, '')
    .split(':');
  return { hostIp: parts.length === 3 ? parts[0] : '', target: Number(parts[parts.length - 1]) };
}

/** A step's result from its findings: failed naming them, passed saying what was checked. */
export function findingsResult(
  what: string,
  findings: Finding[],
  checked: string,
  details: Record<string, unknown> = {},
): { outcome: 'passed' | 'failed'; summary: string; details: Record<string, unknown> } {
  return findings.length
    ? {
        outcome: 'failed',
        summary: `${findings.length} ${what} findings: ${findings.map((f) => `${f.subject} ${f.rule} (${f.found})`).join('; ')}`,
        details: { ...details, findings },
      }
    : { outcome: 'passed', summary: checked, details: { ...details, findings } };
}
