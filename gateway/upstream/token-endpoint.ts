/**
 * The token endpoint of an authorization server, as the gateway uses it when it is an OAuth client
 * of an upstream (client credentials, token exchange): where it is (`tokenUrl`, or what the
 * issuer's metadata names, read once), one POST with HTTP Basic client authentication, and the
 * answer read as RFC 6749 §5.1 / §5.2 say. Errors name the server and the endpoint, and quote the
 * authorization server's own words, never a token.
 */
import { clientBasicAuth, issuerMetadata } from '../http/oauth-metadata';
import { FleetError } from '../protocol/errors';

/** How the gateway reaches and authenticates to the token endpoint (the common part of `servers.X.oauth`). */
export interface TokenEndpointSettings {
  issuer?: string;
  tokenUrl?: string;
  clientId: string;
  clientSecret: string;
}

export interface IssuedToken {
  accessToken: string;
  /** From `expires_in`; an hour when the answer names none. */
  lifetimeMs: number;
  /** RFC 8693 §2.2.1: the type of the token issued, when the server says. */
  issuedTokenType?: string;
  tokenType?: string;
}

/** What an authorization server that refused said: its `error` code and description (RFC 6749 §5.2), or the HTTP status. */
export type Refusal = (why: string) => FleetError;

const TIMEOUT_MS = 10_000;
const MAX_DESCRIPTION = 200;

export class TokenEndpoint {
  private url: Promise<string> | undefined;

  constructor(
    private readonly server: string,
    private readonly settings: TokenEndpointSettings,
  ) {}

  /**
   * POSTs `params` with the client's credentials and returns the token issued. An endpoint that
   * cannot be reached throws UPSTREAM_UNAVAILABLE; one that answers without a token throws what
   * `refused` makes of its reason (default: UPSTREAM_UNAVAILABLE naming the endpoint).
   */
  async request(params: Record<string, string>, refused?: Refusal): Promise<IssuedToken> {
    const url = await this.endpoint();
    let res: Response;
    try {
      res = await fetch(url, {
        method: 'POST',
        headers: {
          authorization: clientBasicAuth(this.settings.clientId, this.settings.clientSecret),
          'content-type': 'application/x-www-form-urlencoded',
          accept: 'application/json',
        },
        body: new URLSearchParams(params),
        signal: AbortSignal.timeout(TIMEOUT_MS),
      });
    } catch (err) {
      throw new FleetError('UPSTREAM_UNAVAILABLE', `server "${this.server}": cannot reach the token endpoint ${url}: ${(err as Error).message}`);
    }
    const json = (await res.json().catch(() => ({}))) as Record<string, unknown>;
    if (!res.ok || typeof json.access_token !== 'string' || json.access_token === '') {
      const why = json.error
        ? `${String(json.error)}${json.error_description ? ` (${String(json.error_description).slice(0, MAX_DESCRIPTION)})` : ''}`
        : `HTTP ${res.status}`;
      throw refused ? refused(why) : new FleetError('UPSTREAM_UNAVAILABLE', `server "${this.server}": the token endpoint ${url} gave no token: ${why}`);
    }
    const expiresIn = json.expires_in;
    return {
      accessToken: json.access_token,
      lifetimeMs: typeof expiresIn === 'number' && expiresIn > 0 ? expiresIn * 1000 : 3600_000,
      ...(typeof json.issued_token_type === 'string' ? { issuedTokenType: json.issued_token_type } : {}),
      ...(typeof json.token_type === 'string' ? { tokenType: json.token_type } : {}),
    };
  }

  /** tokenUrl, or the issuer's token_endpoint, discovered once (a failed discovery is tried again next time). */
  private endpoint(): Promise<string> {
    if (this.settings.tokenUrl) return Promise.resolve(this.settings.tokenUrl);
    this.url ??= issuerMetadata(this.settings.issuer!).then((doc) => {
      if (typeof doc.token_endpoint !== 'string')
        throw new FleetError('UPSTREAM_UNAVAILABLE', `server "${this.server}": the metadata of ${this.settings.issuer} names no token_endpoint`);
      return doc.token_endpoint;
    });
    this.url.catch(() => (this.url = undefined));
    return this.url;
  }
}
