/**
 * Resolves the `${secret:...}` references of a config document (after `${VAR}` expansion, before
 * validation): the `vault:` settings first (they may use env and file references, never Vault
 * itself), then a Vault login when there are Vault references, then every reference once. Each
 * field that cannot be resolved is a problem naming its field path and the reference, never a
 * value. Afterwards `attachLive` gives the fields that follow rotation (remote servers' headers,
 * stdio and docker servers' env) their live maps.
 */
import type { Logger } from 'pino';
import type { GatewayConfig, ServerConfig } from '../schema';
import { vaultSettingsSchema, type VaultSettings } from '../schema';
import { liveStrings } from './live';
import { findReferences, hasReference, render, type SecretReference } from './references';
import { SecretStore } from './store';
import { VaultClient } from './vault-client';
import { VaultSession, type VaultAuth } from './vault-session';

export interface SecretField {
  path: string[];
  template: string;
  refs: SecretReference[];
}

export interface ResolvedSecrets {
  /** The document with every reference rendered (unchanged where a reference failed: the problems say so). */
  doc: unknown;
  fields: SecretField[];
  /** Present when the document had references; the caller closes it (it holds watchers, timers and the Vault token). */
  store: SecretStore | undefined;
  problems: string[];
}

/** The field paths that hold a secret reference, for loaders that cannot resolve them. */
export function secretFieldPaths(doc: unknown): string[] {
  const found: string[] = [];
  walk(doc, [], (path) => void found.push(fieldPath(path)));
  return found;
}

export async function resolveSecrets(doc: unknown, env: NodeJS.ProcessEnv, log: Logger): Promise<ResolvedSecrets> {
  const problems: string[] = [];
  const fields: SecretField[] = [];
  walk(doc, [], (path, text) => {
    const found = findReferences(text);
    if ('problem' in found) return void problems.push(`${fieldPath(path)}: ${found.problem}`);
    const placement = placementProblem(path, found.refs);
    if (placement) return void problems.push(`${fieldPath(path)}: ${placement}`);
    fields.push({ path, template: text, refs: found.refs });
  });
  if (fields.length === 0 || problems.length > 0) return { doc, fields, store: undefined, problems };

  const store = new SecretStore(env, log);
  const vaultFields = fields.filter((f) => f.path[0] === 'vault');
  problems.push(...(await resolveFields(store, vaultFields)));
  const usesVault = (f: SecretField) => f.refs.some((r) => r.kind === 'vault');
  let vaultOpen = false;
  if (fields.some(usesVault) && problems.length === 0) {
    const referenced = new Set(vaultFields.map((f) => fieldPath(f.path)));
    const vaultProblems = await openVault(store, renderFields(doc, vaultFields, store), referenced, log);
    problems.push(...vaultProblems);
    vaultOpen = vaultProblems.length === 0;
  }
  // without Vault its references cannot be checked, but every other one still is
  problems.push(
    ...(await resolveFields(
      store,
      fields.filter((f) => f.path[0] !== 'vault' && (vaultOpen || !usesVault(f))),
    )),
  );
  if (problems.length > 0) {
    store.close();
    return { doc, fields, store: undefined, problems };
  }
  return { doc: renderFields(doc, fields, store), fields, store, problems };
}

/** The config with live maps on the servers whose headers or env hold references; starts following rotation. */
export function attachLive(config: GatewayConfig, fields: readonly SecretField[], store: SecretStore): GatewayConfig {
  const servers = config.servers.map((server) => withLive(server, fields, store));
  store.follow();
  return { ...config, servers };
}

function withLive(server: ServerConfig, fields: readonly SecretField[], store: SecretStore): ServerConfig {
  const mapPath = server.kind === 'remote' ? ['headers'] : server.kind === 'docker' ? ['docker', 'env'] : ['env'];
  const templates = new Map<string, { template: string; refKeys: string[] }>();
  for (const f of fields) {
    const [section, name, ...rest] = f.path;
    if ((section !== 'servers' && section !== 'mcpServers') || name !== server.name) continue;
    if (rest.length !== mapPath.length + 1 || mapPath.some((p, i) => rest[i] !== p)) continue;
    templates.set(rest[rest.length - 1], { template: f.template, refKeys: f.refs.map((r) => r.key) });
  }
  if (templates.size === 0) return server;
  switch (server.kind) {
    case 'remote':
      return { ...server, liveHeaders: liveStrings(store, server.headers, templates) };
    case 'stdio':
      return { ...server, liveEnv: liveStrings(store, server.env, templates) };
    case 'docker':
      return { ...server, liveEnv: liveStrings(store, server.docker.env, templates) };
  }
}

/**
 * Where a reference may not go: a container's fields other than env reach `docker inspect` (and
 * image names, mounts and labels are no place for a credential); Vault's own settings cannot
 * come from Vault.
 */
function placementProblem(path: string[], refs: SecretReference[]): string | undefined {
  const [section, , key, sub, name] = path;
  if ((section === 'servers' || section === 'mcpServers') && key === 'docker') {
    if (sub !== 'env') return `a secret in docker.${sub} would show in \`docker inspect\`; pass it in docker.env (the container gets it as a file)`;
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) return `a secret env entry needs a variable name (A-Z, 0-9, _): it becomes the file /run/secrets/${name}`;
  }
  if (section === 'vault' && refs.some((r) => r.kind === 'vault'))
    return "vault's own settings cannot come from Vault; use ${secret:env:...} or ${secret:file:...}";
  return undefined;
}

async function resolveFields(store: SecretStore, fields: readonly SecretField[]): Promise<string[]> {
  const failed = await store.resolveAll(fields.flatMap((f) => f.refs));
  const problems: string[] = [];
  for (const f of fields) {
    for (const ref of f.refs) {
      const why = failed.get(ref.key);
      if (why !== undefined) problems.push(`${fieldPath(f.path)}: cannot resolve ${ref.text}: ${why}`);
    }
  }
  return problems;
}

/** Validates the (rendered) vault settings, logs in and hands Vault to the store. */
async function openVault(store: SecretStore, doc: unknown, referenced: ReadonlySet<string>, log: Logger): Promise<string[]> {
  const raw = (doc as Record<string, unknown>).vault;
  if (raw === undefined) return ['vault: the config uses ${secret:vault:...} references but has no vault: settings (address and auth)'];
  const parsed = vaultSettingsSchema.safeParse(raw);
  if (!parsed.success) return parsed.error.issues.map((i) => `${fieldPath(['vault', ...i.path.map(String)])}: ${i.message}`);
  const settings = parsed.data;
  const inline = inlineCredential(settings, referenced);
  if (inline) return [inline];
  let client: VaultClient | undefined;
  try {
    client = new VaultClient({ address: settings.address, namespace: settings.namespace, caFile: settings.caFile, timeoutMs: settings.timeoutMs });
    const session = new VaultSession(client, vaultAuth(settings), log.child({ component: 'vault' }));
    await session.start();
    store.useVault({ client, session, refreshIntervalMs: settings.refreshIntervalMs });
    return [];
  } catch (err) {
    client?.close();
    return [`vault: ${(err as Error).message}`];
  }
}

function vaultAuth(settings: VaultSettings): VaultAuth {
  const { auth } = settings;
  if ('token' in auth) return { method: 'token', token: auth.token };
  return { method: 'approle', mount: auth.approle.mount, roleId: auth.approle.roleId, secretId: auth.approle.secretId };
}

/** A Vault credential written in clear in the config file (not a reference), unless the operator insisted. */
function inlineCredential(settings: VaultSettings, referenced: ReadonlySet<string>): string | undefined {
  if (settings.auth.allowInlineCredential) return undefined;
  const field = 'token' in settings.auth ? 'vault.auth.token' : 'vault.auth.approle.secretId';
  if (referenced.has(field)) return undefined;
  return `${field}: a Vault credential is written in clear in the config; use \${secret:file:/run/secrets/NAME} or \${secret:env:NAME} (or set vault.auth.allowInlineCredential: true to insist)`;
}

function renderFields(doc: unknown, fields: readonly SecretField[], store: SecretStore): unknown {
  let out = doc;
  for (const f of fields) out = setAt(out, f.path, 0, render(f.template, store.values));
  return out;
}

/** A copy of `doc` with the string at `path` replaced (only the objects on the path are copied). */
function setAt(doc: unknown, path: readonly string[], i: number, value: string): unknown {
  if (i === path.length) return value;
  if (Array.isArray(doc)) {
    const copy = [...doc];
    copy[Number(path[i])] = setAt(doc[Number(path[i])], path, i + 1, value);
    return copy;
  }
  const obj = doc as Record<string, unknown>;
  return { ...obj, [path[i]]: setAt(obj[path[i]], path, i + 1, value) };
}

function walk(value: unknown, path: string[], visit: (path: string[], text: string) => void): void {
  if (typeof value === 'string') {
    if (hasReference(value)) visit(path, value);
  } else if (Array.isArray(value)) value.forEach((v, i) => walk(v, [...path, String(i)], visit));
  else if (typeof value === 'object' && value !== null) for (const [k, v] of Object.entries(value)) walk(v, [...path, k], visit);
}

function fieldPath(path: readonly string[]): string {
  return path.length === 0 ? '(root)' : path.join('.');
}
