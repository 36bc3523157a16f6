/**
 * Keeps a Vault token valid for the gateway's lifetime. Token auth: the configured token, renewed
 * (auth/token/renew-self) when two thirds of its ttl have passed. AppRole: a login, renewed the
 * same way; when a renewal fails, or Vault grants less than a third of the ttl the login gave
 * (the token's max ttl is near), the session logs in again. Timers are unref'd and stop on close().
 */
import type { Logger } from 'pino';
import type { TokenInfo, VaultClient } from './vault-client';

export type VaultAuth = { method: 'token'; token: string } | { method: 'approle'; mount: string; roleId: string; secretId: string };

/** A renewal this close to the end would race the expiry: below it the session logs in again (AppRole). */
const MIN_RENEW_DELAY_MS = 500;

export class VaultSession {
  private info: TokenInfo | undefined;
  /** The ttl the last login granted: a renewal that grants much less means the max ttl is near. */
  private loginTtl = 0;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly client: VaultClient,
    private readonly auth: VaultAuth,
    private readonly log: Logger,
  ) {}

  /** The current token; start() must have resolved. */
  get token(): string {
    if (!this.info) throw new Error('the Vault session has not started');
    return this.info.token;
  }

  /** Logs in (AppRole) or looks the token up (token auth), and schedules the renewal. */
  async start(): Promise<void> {
    await this.login();
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
  }

  private async login(): Promise<void> {
    const info =
      this.auth.method === 'approle'
        ? await this.client.loginAppRole(this.auth.mount, this.auth.roleId, this.auth.secretId)
        : await this.client.lookupSelf(this.auth.token);
    this.info = info;
    this.loginTtl = info.ttl;
    this.log.info(
      { vault: this.client.address, method: this.auth.method, accessor: info.accessor, ttl: info.ttl, renewable: info.renewable },
      'vault token ready',
    );
    this.schedule();
  }

  private schedule(): void {
    clearTimeout(this.timer);
    const info = this.info!;
    if (this.closed || info.ttl <= 0) return; // a token without ttl (root, periodic off) never expires
    const delay = Math.max(MIN_RENEW_DELAY_MS, (info.ttl * 1000 * 2) / 3);
    this.timer = setTimeout(() => void this.renew(), delay);
    this.timer.unref();
  }

  private async renew(): Promise<void> {
    if (this.closed) return;
    const info = this.info!;
    try {
      if (!info.renewable) throw new Error('the token is not renewable');
      const renewed = await this.client.renewSelf(info.token);
      if (this.closed) return;
      this.info = { ...renewed, accessor: renewed.accessor ?? info.accessor };
      this.log.info({ vault: this.client.address, accessor: this.info.accessor, ttl: renewed.ttl }, 'vault token renewed');
      if (this.auth.method === 'approle' && renewed.ttl * 3 < this.loginTtl) {
        this.log.info({ vault: this.client.address, ttl: renewed.ttl }, 'vault token is near its max ttl; logging in again');
        return await this.relogin();
      }
      this.schedule();
    } catch (err) {
      if (this.closed) return;
      if (this.auth.method === 'approle') {
        this.log.warn({ vault: this.client.address, err: (err as Error).message }, 'vault token renewal failed; logging in again');
        return this.relogin();
      }
      this.log.error({ vault: this.client.address, err: (err as Error).message }, 'vault token renewal failed; secrets cannot be re-read once it expires');
    }
  }

  private async relogin(): Promise<void> {
    try {
      await this.login();
    } catch (err) {
      if (this.closed) return;
      this.log.error({ vault: this.client.address, err: (err as Error).message }, 'vault login failed; trying again');
      this.timer = setTimeout(() => void this.relogin(), 5_000);
      this.timer.unref();
    }
  }
}
