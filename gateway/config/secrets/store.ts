/**
 * The secret values a running gateway holds: resolves references (environment, files, Vault KV
 * v2), keeps each value registered for redaction, and follows rotation: files are watched
 * (fs.watch on their folder, so a replaced file counts too) and Vault secrets are re-read every
 * `refreshIntervalMs`. A changed value is announced to the listeners of the references it backs;
 * the old value stays redacted until close(), since a request in flight may still carry it.
 */
import { watch, type FSWatcher } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Logger } from 'pino';
import { holdSecret } from '../../protocol/redaction';
import type { SecretReference } from './references';
import type { VaultClient } from './vault-client';
import type { VaultSession } from './vault-session';

export interface VaultAccess {
  client: VaultClient;
  session: VaultSession;
  refreshIntervalMs: number;
}

/** A file re-read this soon after its folder changed: editors and `mv` produce bursts of events. */
const FILE_SETTLE_MS = 50;
/** More rotations than this per reference keep only the newest values redacted (bounds the held set). */
const KEPT_OLD_VALUES = 4;

export class SecretStore {
  /** Current values by SecretReference.key. */
  readonly values = new Map<string, string>();
  private readonly refs = new Map<string, SecretReference>();
  private readonly releases = new Map<string, (() => void)[]>();
  private readonly listeners = new Set<(changed: ReadonlySet<string>) => void>();
  private readonly watchers: FSWatcher[] = [];
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  private vault: VaultAccess | undefined;

  constructor(
    private readonly env: NodeJS.ProcessEnv,
    private readonly log: Logger,
  ) {}

  /** Vault, once its own settings (which may use env and file references) are resolved and it is logged in. */
  useVault(vault: VaultAccess): void {
    this.vault = vault;
  }

  /**
   * Resolves every reference not resolved yet (each once). Returns the keys that could not be
   * resolved with the reason, which names the reference and never a value.
   */
  async resolveAll(refs: Iterable<SecretReference>): Promise<Map<string, string>> {
    const problems = new Map<string, string>();
    const pending = [...new Map([...refs].map((r) => [r.key, r])).values()].filter((r) => !this.values.has(r.key));
    await Promise.all(
      pending.map(async (ref) => {
        try {
          this.set(ref, await this.read(ref));
        } catch (err) {
          problems.set(ref.key, (err as Error).message);
        }
      }),
    );
    return problems;
  }

  /** Starts following rotation of the resolved file and Vault references. */
  follow(): void {
    const byDir = new Map<string, Set<string>>();
    for (const ref of this.refs.values()) {
      if (ref.kind !== 'file') continue;
      const dir = dirname(ref.path);
      byDir.set(dir, (byDir.get(dir) ?? new Set()).add(ref.key));
    }
    for (const [dir, keys] of byDir) {
      let settle: NodeJS.Timeout | undefined;
      try {
        const watcher = watch(dir, { persistent: false }, () => {
          clearTimeout(settle);
          settle = setTimeout(() => void this.refresh(keys), FILE_SETTLE_MS);
        });
        watcher.on('error', (err) => this.log.warn({ dir, err: err.message }, 'cannot watch secret files; their rotation is not followed'));
        this.watchers.push(watcher);
      } catch (err) {
        this.log.warn({ dir, err: (err as Error).message }, 'cannot watch secret files; their rotation is not followed');
      }
    }
    const vaultKeys = new Set([...this.refs.values()].filter((r) => r.kind === 'vault').map((r) => r.key));
    if (this.vault && vaultKeys.size > 0) {
      this.timer = setInterval(() => void this.refresh(vaultKeys), this.vault.refreshIntervalMs);
      this.timer.unref();
    }
  }

  /** Told the keys whose value changed, after the new values are in `values`. Returns the unsubscribe. */
  onChange(listener: (changed: ReadonlySet<string>) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  close(): void {
    this.closed = true;
    clearInterval(this.timer);
    for (const w of this.watchers) w.close();
    for (const list of this.releases.values()) for (const release of list) release();
    this.releases.clear();
    this.listeners.clear();
    this.vault?.session.close();
    this.vault?.client.close();
  }

  /** Re-reads `keys`; each Vault secret path is read once however many fields of it are used. */
  private async refresh(keys: ReadonlySet<string>): Promise<void> {
    if (this.closed) return;
    const changed = new Set<string>();
    const reads = new Map<string, Promise<Record<string, unknown>>>();
    await Promise.all(
      [...keys].map(async (key) => {
        const ref = this.refs.get(key)!;
        try {
          const value = await this.read(ref, reads);
          if (this.closed || value === this.values.get(key)) return;
          this.set(ref, value);
          changed.add(key);
        } catch (err) {
          // keep the value in use: a Vault outage or a half-written file must not blank a credential
          this.log.warn({ secret: ref.text, err: (err as Error).message }, 'cannot re-read a secret; keeping its current value');
        }
      }),
    );
    if (changed.size === 0 || this.closed) return;
    this.log.info({ secrets: [...changed].map((k) => this.refs.get(k)!.text) }, 'secrets rotated');
    for (const listener of this.listeners) listener(changed);
  }

  private set(ref: SecretReference, value: string): void {
    const release = holdSecret(value); // throws for a value too short to redact: that reference is then a problem
    this.refs.set(ref.key, ref);
    this.values.set(ref.key, value);
    const list = this.releases.get(ref.key) ?? [];
    list.push(release);
    while (list.length > KEPT_OLD_VALUES + 1) list.shift()!();
    this.releases.set(ref.key, list);
  }

  private async read(ref: SecretReference, reads = new Map<string, Promise<Record<string, unknown>>>()): Promise<string> {
    switch (ref.kind) {
      case 'env': {
        const value = this.env[ref.name];
        if (value === undefined) throw new Error(`environment variable ${ref.name} is not set`);
        return value;
      }
      case 'file': {
        let text: string;
        try {
          text = await readFile(ref.path, 'utf8');
        } catch (err) {
          throw new Error(`cannot read ${ref.path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { cause: err });
        }
        // compose and swarm secret files, and `echo value > file`, end with one newline that is not part of the secret
        return text.replace(/\r?\n$/, '');
      }
      case 'vault': {
        if (!this.vault) throw new Error('no vault: settings in the config (address and auth)');
        const where = `${ref.mount}/${ref.path}`;
        let read = reads.get(where);
        if (!read) {
          const { client, session } = this.vault;
          read = client.readKv(session.token, ref.mount, ref.path).then((s) => s.data);
          reads.set(where, read);
        }
        const data = await read;
        if (!Object.hasOwn(data, ref.field)) throw new Error(`Vault secret ${where} has no field "${ref.field}" (it has ${Object.keys(data).length} fields)`);
        const value = data[ref.field];
        if (typeof value !== 'string') throw new Error(`field "${ref.field}" of Vault secret ${where} is not a string`);
        return value;
      }
    }
  }
}
