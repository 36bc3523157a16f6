/**
 * RFC 8693 token exchange towards a remote server: the gateway acts for the user behind a client.
 * The access token the client authenticated with (the latest one its session presented) is the
 * subject token; the authorization server, to which the gateway authenticates as an OAuth client,
 * answers with a token for this server that names the same user (and the gateway as the actor).
 * That token, never the client's, goes upstream as Authorization.
 *
 * Exchanged tokens are cached per server and subject token (by the token's hash) until a margin
 * before they expire, in a bounded map, so sessions of the same token share one. A request waits
 * for an exchange only when there is no usable token for the subject token as it is now: the
 * first request, once per token lifetime, and after the client presented a new token (a refresh).
 * No timers: an idle session costs the authorization server nothing.
 */
import { ACCESS_TOKEN_TYPE, type RemoteServerConfig } from '../config/schema';
import { FleetError } from '../protocol/errors';
import { TokenEndpoint } from './token-endpoint';

type Settings = NonNullable<RemoteServerConfig['oauth']>;

export const TOKEN_EXCHANGE_GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange';

/** A client's access token as the gateway holds it: its SHA-256 (the cache key) and, for the exchange request only, its value. */
export interface SubjectToken {
  readonly hash: string;
  reveal(): string;
}

/** Whom an upstream acts for: the principal that owns it, and the access token it presented last. */
export interface Subject {
  /** The principal's id (`oauth:alice`), for errors; never a credential. */
  readonly principal: string;
  /** undefined when the principal authenticated without an access token (API key, client certificate, no auth). */
  token(): SubjectToken | undefined;
}

/** How a remote transport authenticates: awaited before it connects, `prepare` before each request, `header` read for each. */
export interface UpstreamAuthorization {
  ready(): Promise<unknown>;
  header(): string | undefined;
  /** A promise when the request must wait (for a token being fetched); it rejects when there is none to be had. */
  prepare?: () => Promise<void> | undefined;
}

/** Exchanged tokens kept per server; the oldest goes first past this. */
const MAX_CACHED = 1000;
/** Used until this long before they expire (at most half their lifetime), so none expires in flight. */
const MARGIN_MS = 30_000;

interface Cached {
  header: string;
  until: number;
}

export class TokenExchange {
  private readonly cache = new Map<string, Cached>();
  private readonly pending = new Map<string, Promise<Cached>>();
  private readonly endpoint: TokenEndpoint;

  constructor(
    private readonly server: string,
    private readonly settings: Settings,
    private readonly resource: string,
    private readonly now: () => number = Date.now,
  ) {
    this.endpoint = new TokenEndpoint(server, settings);
  }

  /** How one upstream acting for `subject` authenticates; without a subject (no client owns it) every request is refused. */
  actingFor(subject: Subject | undefined): UpstreamAuthorization {
    let last: string | undefined;
    const prepare = (): Promise<void> | undefined => {
      const token = subject?.token();
      const hit = token && this.usable(token.hash);
      if (hit) {
        last = hit.header;
        return undefined;
      }
      return this.exchange(subject, token).then((got) => void (last = got.header));
    };
    return {
      ready: () => prepare() ?? Promise.resolve(),
      prepare,
      // the token of the latest prepared request: GET streams and DELETE carry it too
      header: () => last,
    };
  }

  private usable(hash: string): Cached | undefined {
    const hit = this.cache.get(hash);
    if (hit && hit.until > this.now()) return hit;
    if (hit) this.cache.delete(hash);
    return undefined;
  }

  private exchange(subject: Subject | undefined, token: SubjectToken | undefined): Promise<Cached> {
    if (!subject || !token) return Promise.reject(this.noSubject(subject));
    let running = this.pending.get(token.hash);
    if (!running) {
      running = this.request(subject, token).finally(() => this.pending.delete(token.hash));
      this.pending.set(token.hash, running);
    }
    return running;
  }

  private async request(subject: Subject, token: SubjectToken): Promise<Cached> {
    const { settings } = this;
    const issued = await this.endpoint.request(
      {
        grant_type: TOKEN_EXCHANGE_GRANT,
        subject_token: token.reveal(),
        subject_token_type: settings.subjectTokenType,
        requested_token_type: ACCESS_TOKEN_TYPE,
        resource: this.resource,
        ...(settings.audience ? { audience: settings.audience } : {}),
        ...(settings.scope ? { scope: settings.scope } : {}),
      },
      (why) =>
        new FleetError('FORBIDDEN', `server "${this.server}": the authorization server refused to exchange the access token of ${subject.principal}: ${why}`, {
          data: { server: this.server },
        }),
    );
    // RFC 8693 §2.2.1: N_A means the token is not for use as a bearer credential
    if (issued.tokenType !== undefined && issued.tokenType.toLowerCase() !== 'bearer')
      throw new FleetError(
        'UPSTREAM_UNAVAILABLE',
        `server "${this.server}": the token exchange issued a token of type ${issued.tokenType}, not a Bearer token`,
      );
    const entry = { header: `Bearer ${issued.accessToken}`, until: this.now() + Math.max(issued.lifetimeMs - MARGIN_MS, issued.lifetimeMs / 2) };
    if (this.cache.size >= MAX_CACHED) this.cache.delete(this.cache.keys().next().value!);
    this.cache.set(token.hash, entry);
    return entry;
  }

  private noSubject(subject: Subject | undefined): FleetError {
    const who = subject
      ? `${subject.principal} has no access token to exchange (it authenticated with an API key, a client certificate or not at all)`
      : 'no client owns this upstream';
    return new FleetError(
      'FORBIDDEN',
      `server "${this.server}" acts for each client's own user by token exchange (oauth.grant: token-exchange), and ${who}; authenticate with an OAuth access token to use it`,
      { data: { server: this.server } },
    );
  }
}
