/**
 * Reads a gateway config file (YAML or JSON), expands `${VAR}` references from the environment,
 * resolves `${secret:...}` references (config/secrets/) and validates it. A bad file throws one
 * CONFIG_INVALID error that lists every problem by file and field path, so nothing starts
 * half-configured.
 */
import { readFileSync } from 'node:fs';
import pino, { type Logger } from 'pino';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { FleetError } from '../protocol/errors';
import { dockerServerSchema, gatewaySettingsSchema, remoteServerSchema, stdioServerSchema, type GatewayConfig, type ServerConfig } from './schema';
import { checkPrefixes } from './prefixes';
import { attachLive, resolveSecrets, secretFieldPaths } from './secrets/resolve';
import type { SecretStore } from './secrets/store';

type Problems = string[];

export interface LoadedConfig {
  config: GatewayConfig;
  /** The resolved secrets, following rotation, when the config has references: close it when the gateway stops. */
  secrets: SecretStore | undefined;
}

export interface LoadOptions {
  env?: NodeJS.ProcessEnv;
  /** Where the secret store and the Vault session log (logins, renewals, rotations); silent by default. */
  log?: Logger;
}

/** Reads, resolves and validates FILE; `overrides` (e.g. --listen) win over the file. */
export async function loadConfigFile(file: string, overrides: { listen?: string } = {}, options: LoadOptions = {}): Promise<LoadedConfig> {
  return resolveConfig(readConfigDocument(file), file, overrides, options);
}

/**
 * Expands, resolves the secret references of and validates an already parsed document; `source`
 * names it in error messages.
 */
export async function resolveConfig(doc: unknown, source: string, overrides: { listen?: string } = {}, options: LoadOptions = {}): Promise<LoadedConfig> {
  const problems: Problems = [];
  const expanded = expandEnv(doc, [], options.env ?? process.env, problems);
  const secrets = await resolveSecrets(expanded, options.env ?? process.env, options.log ?? pino({ level: 'silent' }));
  problems.push(...secrets.problems);
  if (problems.length > 0) {
    secrets.store?.close();
    throw invalid(source, problems);
  }
  if (!secrets.store) return { config: validate(expanded, source, overrides, []), secrets: undefined };
  try {
    return { config: attachLive(validate(secrets.doc, source, overrides, []), secrets.fields, secrets.store), secrets: secrets.store };
  } catch (err) {
    secrets.store.close();
    throw err;
  }
}

function readConfigDocument(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new FleetError('CONFIG_INVALID', `cannot read config file ${file}: ${(err as Error).message}`, { cause: err });
  }
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw new FleetError('CONFIG_INVALID', `${file}: not valid YAML or JSON: ${(err as Error).message}`, { cause: err });
  }
  return doc ?? {};
}

/**
 * Expands and validates an already parsed document without secret references (tests, tools);
 * `source` names it in error messages. A `${secret:...}` in it is a problem: resolveConfig reads those.
 */
export function parseConfig(doc: unknown, source: string, overrides: { listen?: string } = {}, env = process.env): GatewayConfig {
  const problems: Problems = [];
  const expanded = expandEnv(doc, [], env, problems);
  for (const path of secretFieldPaths(expanded))
    problems.push(`${path}: \${secret:...} references are resolved only by the gateway's config loader (resolveConfig)`);
  return validate(expanded, source, overrides, problems);
}

function validate(expanded: unknown, source: string, overrides: { listen?: string }, problems: Problems): GatewayConfig {
  if (typeof expanded !== 'object' || expanded === null || Array.isArray(expanded)) {
    throw invalid(source, ['(root): expected an object with "servers" or "mcpServers"']);
  }
  const { servers: ownServers, mcpServers, ...settingsDoc } = expanded as Record<string, unknown>;
  if (overrides.listen !== undefined) settingsDoc.listen = overrides.listen;

  const settings = gatewaySettingsSchema.safeParse(settingsDoc);
  if (!settings.success) problems.push(...zodProblems(settings.error, []));

  const servers: ServerConfig[] = [];
  const seen = new Set<string>();
  for (const [section, block, compat] of [
    ['servers', ownServers, false],
    ['mcpServers', mcpServers, true],
  ] as const) {
    if (block === undefined || block === null) continue;
    if (typeof block !== 'object' || Array.isArray(block)) {
      problems.push(`${section}: expected a map of server name to server settings`);
      continue;
    }
    for (const [name, raw] of Object.entries(block as Record<string, unknown>)) {
      const path = [section, name];
      if (seen.has(name)) {
        problems.push(`${path.join('.')}: server name "${name}" is defined twice (servers and mcpServers share one namespace)`);
        continue;
      }
      seen.add(name);
      const server = parseServer(name, compat ? fromClientFormat(raw) : raw, path, problems);
      if (server && !server.disabled) servers.push(server);
    }
  }
  const discovered = settings.success ? settings.data.discovery?.docker : undefined;
  if (servers.length === 0 && problems.length === 0 && seen.size === 0 && !discovered) {
    problems.push('servers: no servers configured (add a "servers" or "mcpServers" map, or discovery)');
  }
  // every discovered server is its labels over these defaults: a bad default fails here, not at the first container
  if (discovered) parseServer('discovered', { ...discovered.defaults, url: 'http://discovered.invalid/mcp' }, ['discovery', 'docker', 'defaults'], problems);
  if (settings.success) problems.push(...checkPrefixes(servers));
  if (settings.success && settings.data.rateLimits.shared && !settings.data.store?.redis)
    problems.push('rateLimits.shared: the buckets are shared through store.redis, which the config does not set');
  if (problems.length > 0 || !settings.success) throw invalid(source, problems);
  return { ...settings.data, servers };
}

/** Validates one server entry (as in the `servers:` map); its problems are added to `problems`, named by `path`. */
export function parseServer(name: string, raw: unknown, path: string[], problems: Problems): ServerConfig | undefined {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    problems.push(`${fieldPath(path)}: expected an object with "command" (stdio server), "url" (remote server) or "docker" (container)`);
    return undefined;
  }
  const fields = raw as Record<string, unknown>;
  const kinds = ['command', 'url', 'docker'].filter((k) => k in fields);
  if (kinds.length > 1) {
    problems.push(`${fieldPath(path)}: has ${kinds.map((k) => `"${k}"`).join(' and ')}; a server is one of a local process, a remote endpoint or a container`);
    return undefined;
  }
  if ('docker' in fields) {
    const r = dockerServerSchema.safeParse(fields);
    if (!r.success) return void problems.push(...zodProblems(r.error, path));
    return { ...r.data, kind: 'docker', name };
  }
  if ('command' in fields) {
    const r = stdioServerSchema.safeParse(fields);
    if (!r.success) return void problems.push(...zodProblems(r.error, path));
    return { ...r.data, kind: 'stdio', name };
  }
  if ('url' in fields) {
    const r = remoteServerSchema.safeParse(fields);
    if (!r.success) return void problems.push(...zodProblems(r.error, path));
    return { ...r.data, kind: 'remote', name, transport: r.data.transport ?? inferTransport(r.data.url) };
  }
  problems.push(`${fieldPath(path)}: needs "command" (a stdio server), "url" (a remote server) or "docker" (a container)`);
  return undefined;
}

/** ws:// means WebSocket and a path ending in /sse the legacy SSE transport; anything else is Streamable HTTP. */
export function inferTransport(url: string): 'streamable-http' | 'sse' | 'websocket' {
  const u = new URL(url);
  if (u.protocol === 'ws:' || u.protocol === 'wss:') return 'websocket';
  if (/\/sse\/?$/.test(u.pathname)) return 'sse';
  return 'streamable-http';
}

const CLIENT_TYPE_TO_TRANSPORT: Record<string, string> = {
  http: 'streamable-http',
  'streamable-http': 'streamable-http',
  streamableHttp: 'streamable-http',
  sse: 'sse',
  ws: 'websocket',
  websocket: 'websocket',
};

const GATEWAY_FIELDS = new Set([
  'command',
  'args',
  'env',
  'cwd',
  'url',
  'headers',
  'tls',
  'transport',
  'prefix',
  'mode',
  'requestTimeoutMs',
  'restart',
  'disabled',
  'healthCheck',
  'required',
  'docker',
  'pool',
]);

/**
 * Desktop clients' entries carry keys of their own (autoApprove, alwaysAllow, timeout, type, ...):
 * keep the ones the gateway understands, translate `type`, ignore the rest so the file works unchanged.
 */
function fromClientFormat(raw: unknown): unknown {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return raw;
  const entry = raw as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(entry)) if (GATEWAY_FIELDS.has(k)) out[k] = v;
  if (typeof entry.type === 'string' && entry.type !== 'stdio' && out.transport === undefined) {
    const transport = Object.hasOwn(CLIENT_TYPE_TO_TRANSPORT, entry.type) ? CLIENT_TYPE_TO_TRANSPORT[entry.type] : undefined;
    out.transport = transport ?? entry.type; // an unknown type reaches the schema and is reported there
  }
  return out;
}

const ENV_REF = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

/** Replaces `${VAR}` and `${VAR:-default}` in every string; a missing variable without default is a problem. */
function expandEnv(value: unknown, path: string[], env: NodeJS.ProcessEnv, problems: Problems): unknown {
  if (typeof value === 'string') {
    return value.replace(ENV_REF, (_m, name: string, fallback: string | undefined) => {
      const v = env[name];
      if (v !== undefined) return v;
      if (fallback !== undefined) return fallback;
      problems.push(`${fieldPath(path)}: environment variable ${name} is not set (use \${${name}:-default} for a default)`);
      return '';
    });
  }
  if (Array.isArray(value)) return value.map((v, i) => expandEnv(v, [...path, String(i)], env, problems));
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, expandEnv(v, [...path, k], env, problems)]));
  }
  return value;
}

/** Zod issues as `field.path: problem` lines under `base`. */
export function zodProblems(error: z.ZodError, base: string[]): string[] {
  return error.issues.map((issue) => `${fieldPath([...base, ...issue.path.map(String)])}: ${issue.message}`);
}

function fieldPath(path: string[]): string {
  return path.length === 0 ? '(root)' : path.join('.');
}

function invalid(source: string, problems: Problems): FleetError {
  const list = problems.map((p) => `  - ${p}`).join('\n');
  return new FleetError('CONFIG_INVALID', `invalid config ${source}:\n${list}`, { data: { file: source, problems } });
}
