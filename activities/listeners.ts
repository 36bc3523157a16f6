/**
 * The gateway listeners of a stack as its files describe them: for each service the network
 * policy gives a gateway config (`listen[].config`), that config read as the container would read
 * it (the service's compose environment, secrets from *_FILE as entrypoint.sh sets them), with the
 * address it listens on and the URLs of its remote servers. `auth` and `tls` are read as written:
 * the audits judge them, the gateway's own loader validates the rest.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { parseConfig } from '../gateway/config/load';
import type { SecurityPolicy } from '../pipeline/security-policy';
import type { ComposeDoc } from './stack-config';

export interface Listener {
  service: string;
  /** the config, relative to the checkout */
  file: string;
  /** HOST:PORT */
  listen: string;
  /** the `auth` key as written (undefined: none) */
  auth: unknown;
  /** the `tls` key as written (undefined: none) */
  tls: unknown;
  /** remote servers: name and URL */
  upstreams: { name: string; url: string }[];
  /** why the config could not be read, when it could not */
  problem?: string;
}

/** True for addresses only this host (or container) reaches. */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '');
  return h === 'localhost' || h === '::1' || /^127\./.test(h);
}

/** The host part of HOST:PORT. */
export function hostOf(listen: string): string {
  return listen.replace(/:\d+$/, '');
}

/** Stands for a secret the container reads from a file: long and varied enough for every field a secret may fill. */
const SECRET_PLACEHOLDER = 'placeholder-for-a-secret-read-from-a-file-0123456789';

/** Every gateway listener of `doc` that the policy names a config for. */
export function stackListeners(policy: SecurityPolicy, doc: ComposeDoc, root: string): Listener[] {
  const out: Listener[] = [];
  for (const [service, p] of Object.entries(policy.services)) {
    const s = doc.services[service];
    // a command that is not the gateway's: another program serves the port (the prod override's
    // gateway service is haproxy, in front of the replicas that are the gateway listeners there)
    if (!s || (s.command.length > 0 && !s.command.includes('--config'))) continue;
    for (const l of p.listen) {
      if (!l.config) continue;
      // the checkout's own configs are what the images carry: a variant's command may pick another of them
      const file = l.config.startsWith('docker/config/') ? (commandConfig(s.command) ?? l.config) : l.config;
      out.push(readListener(service, file, s.environment, listenOption(s.command), root));
    }
  }
  return out;
}

/**
 * The config a service's command names instead of the image's baked-in default (the prod override
 * runs the *.tls.yaml variants): `--config /etc/mcp-fleet/X` is docker/config/X of the checkout,
 * where the images take it from.
 */
function commandConfig(command: string[]): string | undefined {
  const i = command.indexOf('--config');
  const path = i >= 0 ? command[i + 1] : undefined;
  return path?.startsWith('/etc/mcp-fleet/') ? `docker/config/${path.slice('/etc/mcp-fleet/'.length)}` : undefined;
}

/** `--listen HOST:PORT` of a command (the images' CMD passes 0.0.0.0:8080 the same way). */
function listenOption(command: string[]): string | undefined {
  const i = command.indexOf('--listen');
  return i >= 0 ? command[i + 1] : command.find((a) => a.startsWith('--listen='))?.slice('--listen='.length);
}

function readListener(service: string, file: string, environment: Record<string, string>, listen: string | undefined, root: string): Listener {
  const base = { service, file, listen: listen ?? '', auth: undefined, tls: undefined, upstreams: [] };
  let raw: Record<string, unknown>;
  try {
    raw = (parseYaml(readFileSync(resolve(root, file), 'utf8')) ?? {}) as Record<string, unknown>;
  } catch (err) {
    return { ...base, problem: `cannot read ${file}: ${(err as Error).message}` };
  }
  // entrypoint.sh: VAR_FILE=/run/secrets/NAME becomes VAR (its value is not the audit's business)
  const env: NodeJS.ProcessEnv = { ...environment };
  for (const [k, v] of Object.entries(environment)) if (k.endsWith('_FILE') && v.startsWith('/run/secrets/')) env[k.slice(0, -5)] = SECRET_PLACEHOLDER;
  const { auth, tls, servers, ...rest } = raw;
  const withoutTls = Object.fromEntries(Object.entries((servers ?? {}) as Record<string, unknown>).map(([n, s]) => [n, withoutKey(s, 'tls')]));
  try {
    const config = parseConfig({ ...rest, servers: withoutTls }, file, listen ? { listen } : {}, env);
    const upstreams = config.servers.flatMap((x) => (x.kind === 'remote' ? [{ name: x.name, url: x.url }] : []));
    return { ...base, listen: config.listen, auth, tls, upstreams };
  } catch (err) {
    return { ...base, auth, tls, problem: (err as Error).message };
  }
}

/** `value` without `key` when it is an object (the loader refuses keys it does not know yet). */
function withoutKey(value: unknown, key: string): unknown {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return value;
  return Object.fromEntries(Object.entries(value).filter(([k]) => k !== key));
}
