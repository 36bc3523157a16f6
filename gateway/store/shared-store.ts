/**
 * What gateway replicas behind one load balancer share, as a small key-value store with expiry:
 * in Redis (`store.redis`). Every operation is bounded by `timeoutMs` and fails at once while the
 * connection is down (no offline queue: a request must not wait for a Redis that may not come
 * back); the client reconnects by itself, and the gateway starts and serves without it (only what
 * needs the store fails, with STORE_UNAVAILABLE).
 */
import { createClient } from '@redis/client';
import type { Logger } from 'pino';
import type { StoreSettings } from '../config/schema';
import { FleetError } from '../protocol/errors';

export interface SharedStore {
  get(key: string): Promise<string | undefined>;
  /** Sets `key` to `value`, to expire `ttlMs` from now. */
  set(key: string, value: string, ttlMs: number): Promise<void>;
  /** Moves the expiry of `key` to `ttlMs` from now (nothing if it is gone). */
  expire(key: string, ttlMs: number): Promise<void>;
  delete(key: string): Promise<void>;
  close(): Promise<void>;
}

/** Reconnect delays: doubling from 50 ms, at most 2 s. */
const reconnectDelay = (retries: number) => Math.min(50 * 2 ** retries, 2_000);

export class RedisStore implements SharedStore {
  private readonly client;
  private up = false;
  /** An outage was logged: the next failures of the same outage are not. */
  private warned = false;
  private closing = false;

  constructor(
    private readonly settings: NonNullable<StoreSettings['redis']>,
    log: Logger,
  ) {
    this.client = createClient({
      url: settings.url,
      disableOfflineQueue: true,
      socket: { connectTimeout: settings.timeoutMs, reconnectStrategy: reconnectDelay },
    });
    // Told on every failed attempt while down: logged once per outage, not once per retry.
    this.client.on('error', (err: Error) => {
      if (this.up || !this.warned) log.warn({ err: err.message }, 'shared store (Redis) unreachable; sessions are not shared until it is back');
      this.up = false;
      this.warned = true;
    });
    this.client.on('ready', () => {
      this.up = true;
      this.warned = false;
      log.info('shared store (Redis) connected');
    });
    this.client.connect().catch(() => {}); // failures come through 'error'; the client keeps trying
  }

  get(key: string): Promise<string | undefined> {
    return this.bounded('read', this.client.get(this.key(key))).then((v) => (typeof v === 'string' ? v : undefined));
  }

  async set(key: string, value: string, ttlMs: number): Promise<void> {
    await this.bounded('write', this.client.set(this.key(key), value, { expiration: { type: 'PX', value: ttlMs } }));
  }

  async expire(key: string, ttlMs: number): Promise<void> {
    await this.bounded('write', this.client.pExpire(this.key(key), ttlMs));
  }

  async delete(key: string): Promise<void> {
    await this.bounded('write', this.client.del(this.key(key)));
  }

  /** Runs a Lua script on `keys` (prefixed like every key) with `args`; its reply as Redis gives it. */
  async evalScript(script: string, keys: string[], args: string[]): Promise<unknown> {
    return this.bounded('script', this.client.eval(script, { keys: keys.map((k) => this.key(k)), arguments: args }));
  }

  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    if (this.client.isOpen) await this.client.close().catch(() => this.client.destroy());
    else this.client.destroy();
  }

  private key(key: string): string {
    return this.settings.keyPrefix + key;
  }

  private bounded<T>(what: string, op: Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${this.settings.timeoutMs} ms (store.redis.timeoutMs)`)), this.settings.timeoutMs);
    });
    return Promise.race([op, timeout])
      .catch((err: Error) => {
        throw new FleetError('STORE_UNAVAILABLE', `the shared store (Redis) failed a ${what}: ${err.message}`);
      })
      .finally(() => clearTimeout(timer));
  }
}
