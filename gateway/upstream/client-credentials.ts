/**
 * The gateway as an OAuth client of a remote server (RFC 6749 client credentials, with an RFC 8707
 * resource): one token per server, fetched before the first connection, kept until a margin before
 * it expires and then fetched again in the background, so requests never wait for it. The client's
 * own token never goes upstream; this one does, in the Authorization header.
 */
import type { Logger } from 'pino';
import type { RemoteServerConfig } from '../config/schema';
import { TokenEndpoint } from './token-endpoint';

type Settings = NonNullable<RemoteServerConfig['oauth']>;

/** Refreshed this long before it expires (or at half its lifetime, for short-lived tokens). */
const MARGIN_MS = 30_000;

export class ClientCredentials {
  private token: string | undefined;
  private fetching: Promise<string> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly endpoint: TokenEndpoint;

  constructor(
    private readonly server: string,
    private readonly settings: Settings,
    private readonly resource: string,
    private readonly log: Logger,
  ) {
    this.endpoint = new TokenEndpoint(server, settings);
  }

  /** The current token, fetched first if there is none yet (before a connection opens). */
  async ready(): Promise<string> {
    return this.token ?? this.fetch();
  }

  /** The Authorization value for the next request (sync: the token was made ready before). */
  header(): string | undefined {
    return this.token ? `Bearer ${this.token}` : undefined;
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
  }

  private fetch(): Promise<string> {
    this.fetching ??= this.request().finally(() => (this.fetching = undefined));
    return this.fetching;
  }

  private async request(): Promise<string> {
    const { accessToken, lifetimeMs } = await this.endpoint.request({
      grant_type: 'client_credentials',
      resource: this.resource,
      ...(this.settings.scope ? { scope: this.settings.scope } : {}),
    });
    const refreshInMs = Math.max(1000, Math.min(lifetimeMs - MARGIN_MS, lifetimeMs / 2));
    this.token = accessToken;
    this.schedule(refreshInMs);
    return accessToken;
  }

  /** The next token comes before this one expires; a failed refresh is tried again soon, the old token kept meanwhile. */
  private schedule(inMs: number): void {
    clearTimeout(this.timer);
    if (this.closed) return;
    this.timer = setTimeout(() => {
      this.fetch().catch((err: Error) => {
        this.log.warn({ server: this.server, err: err.message }, 'OAuth token refresh failed; retrying in 5 s');
        this.schedule(5_000);
      });
    }, inMs);
    this.timer.unref();
  }
}
