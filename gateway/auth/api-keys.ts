/**
 * API keys for machines. Only the SHA-256 of a key is ever held (in the key file and in memory; a
 * key the config gives in clear, from a secret, is hashed at load); a presented key is hashed and
 * looked up, so no key can be read back from the gateway.
 * Keys are added, rotated (the old one stays valid until its new expiry, an overlap the operator
 * picks) and revoked at run time; with a key file, those changes are written to it and changes
 * made to the file by hand are read back when it changes. A config reload swaps the keys the
 * config itself names; those of the key file and those added at run time stay.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, watch, writeFileSync, renameSync, type FSWatcher } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { Logger } from 'pino';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { z } from 'zod';
import { apiKeySchema, type ApiKeySettings, type ApiKeysSettings } from '../config/auth-schema';
import { FleetError } from '../protocol/errors';
import { principal, type Principal } from './principal';

/** Every key the gateway makes starts so, which tells it apart from a JWT or an opaque OAuth token. */
export const API_KEY_PREFIX = 'mcpk_';

export function hashKey(key: string): string {
  return `sha256:${createHash('sha256').update(key).digest('hex')}`;
}

/** A new random key (256 bits): shown once, to the one who asked for it. */
export function newKey(): string {
  return `${API_KEY_PREFIX}${randomBytes(32).toString('base64url')}`;
}

const keyFileSchema = z.object({ keys: z.array(apiKeySchema).default([]) }).strict();

/** What the admin API shows of a key: never the hash, which would let anyone test guesses offline. */
export interface KeyInfo {
  name: string;
  scopes: readonly string[];
  roles: readonly string[];
  expiresAt?: string;
  /** The first 8 hex digits of the hash, to tell two keys of one name apart. */
  id: string;
}

export class ApiKeyStore {
  private byHash = new Map<string, ApiKeySettings>();
  private watcher: FSWatcher | undefined;
  private debounce: NodeJS.Timeout | undefined;

  private configured: ApiKeySettings[];

  constructor(
    private readonly settings: ApiKeysSettings,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {
    this.configured = hashed(settings.keys);
    this.replace([...this.configured, ...(settings.file ? readKeyFile(settings.file) : [])]);
  }

  /** The config's own keys are now `keys` (a config reload); keys of the key file and those added at run time stay. */
  setConfigured(keys: ApiKeySettings[]): void {
    const before = new Set(this.configured.map((k) => k.hash));
    this.configured = hashed(keys);
    this.replace([...this.configured, ...[...this.byHash.values()].filter((k) => !before.has(k.hash))]);
  }

  /** Re-reads the key file whenever it changes (an edit, or another tool's rename over it). */
  watchFile(): void {
    const file = this.settings.file;
    if (!file || this.watcher) return;
    this.watcher = watch(dirname(file), (_event, changed) => {
      if (changed !== null && changed !== basename(file)) return;
      clearTimeout(this.debounce);
      this.debounce = setTimeout(() => this.reload(), 50);
    });
    this.watcher.on('error', (err) => this.log.warn({ file, err: err.message }, 'cannot watch the API key file; changes to it need a restart'));
  }

  close(): void {
    clearTimeout(this.debounce);
    this.watcher?.close();
    this.watcher = undefined;
  }

  /** The principal `key` names, or the 401 to answer (unknown, expired). */
  authenticate(key: string): Principal {
    const found = this.find(key);
    if (!found) throw unauthorized('the API key is not valid (unknown or revoked)');
    return found;
  }

  /** The principal of a key this store holds, the 401 for one that expired, undefined for a credential it does not know (maybe a token). */
  find(key: string): Principal | undefined {
    const entry = this.byHash.get(hashKey(key));
    if (!entry) return undefined;
    if (entry.expiresAt !== undefined && Date.parse(entry.expiresAt) <= this.now())
      throw unauthorized(`the API key "${entry.name}" expired at ${entry.expiresAt}`);
    return principal('api-key', entry.name, entry.scopes, entry.roles);
  }

  list(): KeyInfo[] {
    return [...this.byHash.values()].map(info);
  }

  /** Adds a key for `name`; returns the key itself, which exists nowhere else from now on. */
  add(name: string, options: { scopes?: string[]; roles?: string[]; expiresAt?: string } = {}): { key: string; info: KeyInfo } {
    const key = newKey();
    const entry = apiKeySchema.parse({ name, hash: hashKey(key), scopes: options.scopes ?? [], roles: options.roles ?? [], expiresAt: options.expiresAt });
    this.byHash.set(entry.hash!, entry);
    this.persist();
    return { key, info: info(entry) };
  }

  /**
   * A new key for `name` with the same scopes and roles; the name's current keys stay valid for
   * `overlapSec` more (or until they expire, if sooner), so clients can switch without a gap.
   */
  rotate(name: string, overlapSec: number): { key: string; info: KeyInfo } {
    const current = [...this.byHash.values()].filter((k) => k.name === name);
    if (current.length === 0) throw new FleetError('NOT_FOUND', `no API key named "${name}"`);
    const until = this.now() + overlapSec * 1000;
    for (const k of current) {
      if (k.expiresAt === undefined || Date.parse(k.expiresAt) > until) this.byHash.set(k.hash!, { ...k, expiresAt: new Date(until).toISOString() });
    }
    const { scopes, roles } = current[current.length - 1];
    return this.add(name, { scopes: [...scopes], roles: [...roles] });
  }

  /** Every key of `name` stops working now; returns how many there were. */
  revoke(name: string): number {
    let n = 0;
    for (const [hash, k] of this.byHash) if (k.name === name && this.byHash.delete(hash)) n++;
    if (n === 0) throw new FleetError('NOT_FOUND', `no API key named "${name}"`);
    this.persist();
    return n;
  }

  private replace(entries: ApiKeySettings[]): void {
    this.byHash = new Map(entries.map((k) => [k.hash!, k]));
  }

  private reload(): void {
    const file = this.settings.file!;
    try {
      this.replace([...this.configured, ...readKeyFile(file)]);
      this.log.info({ file, keys: this.byHash.size }, 'API keys reloaded');
    } catch (err) {
      this.log.warn({ file, err: (err as Error).message }, 'API key file not reloaded; the keys read before stay in force');
    }
  }

  /** Writes the runtime keys (those not in the config itself) to the key file, atomically. */
  private persist(): void {
    const file = this.settings.file;
    if (!file) return;
    const inConfig = new Set(this.configured.map((k) => k.hash));
    const keys = [...this.byHash.values()].filter((k) => !inConfig.has(k.hash));
    const tmp = join(dirname(file), `.${basename(file)}.${process.pid}.tmp`);
    writeFileSync(tmp, stringifyYaml({ keys }), { mode: 0o600 });
    renameSync(tmp, file);
  }
}

/** A key given in clear (from a secret) is hashed now and forgotten. */
function hashed(keys: ApiKeySettings[]): ApiKeySettings[] {
  return keys.map(({ key, ...k }) => ({ ...k, hash: k.hash ?? hashKey(key!) }));
}

function readKeyFile(file: string): ApiKeySettings[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw new FleetError('CONFIG_INVALID', `cannot read the API key file ${file}: ${(err as Error).message}`);
  }
  const parsed = keyFileSchema.safeParse(parseYaml(text) ?? {});
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new FleetError('CONFIG_INVALID', `${file}: ${problems.join('; ')}`);
  }
  return parsed.data.keys;
}

function info(k: ApiKeySettings): KeyInfo {
  return { name: k.name, scopes: k.scopes, roles: k.roles, ...(k.expiresAt ? { expiresAt: k.expiresAt } : {}), id: k.hash!.slice(7, 15) };
}

function unauthorized(message: string): FleetError {
  return new FleetError('UNAUTHORIZED', message, { data: { error: 'invalid_token' } });
}
