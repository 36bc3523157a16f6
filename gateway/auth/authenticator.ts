/**
 * Client authentication for every network front: who sent this HTTP request (or WebSocket
 * upgrade)? A bearer credential is an API key (by its prefix), a JWT access token, or an opaque
 * token for introspection; without one, a verified client certificate names the principal. A
 * request with none of them, or a bad one, is refused with 401 and a `WWW-Authenticate` challenge
 * that points MCP clients at the protected resource metadata (RFC 9728), where they find the
 * authorization server; a token without the scopes every request needs gets 403
 * `insufficient_scope` naming them, so that a client can step up.
 *
 * The credential is read here and never goes further: the principal is what the rest of the
 * gateway sees, and no client token is ever sent upstream.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { Logger } from 'pino';
import type { AuthMethods, AuthSettings } from '../config/auth-schema';
import { FleetError } from '../protocol/errors';
import { API_KEY_PREFIX, ApiKeyStore } from './api-keys';
import type { ClientCertificateIdentity } from './client-cert';
import { ClientCerts } from './client-certs';
import { Introspection } from './introspection';
import { JwtTokens } from './jwt-tokens';
import { ANONYMOUS, type Principal } from './principal';

export const RESOURCE_METADATA_PATH = '/.well-known/oauth-protected-resource';

export interface Credentials {
  headers: IncomingHttpHeaders;
  /** The verified client certificate of a TLS connection, if it presented one. */
  certificate?: ClientCertificateIdentity;
}

export class Authenticator {
  readonly apiKeys: ApiKeyStore | undefined;
  private readonly jwt: JwtTokens | undefined;
  private readonly introspection: Introspection | undefined;
  private readonly certs: ClientCerts | undefined;
  private readonly methods: AuthMethods | undefined;

  /** `settings` undefined or `none`: everyone is the anonymous principal. */
  /** `refused` hears of each refusal by its kind (missing, invalid_request, invalid_token, insufficient_scope), for the metrics. */
  constructor(
    settings: AuthSettings | undefined,
    log: Logger,
    private readonly refused: (reason: AuthRefusal) => void = () => {},
  ) {
    this.methods = settings === undefined || settings === 'none' ? undefined : settings;
    const m = this.methods;
    if (m?.oauth) {
      const audience = m.oauth.audience ?? m.resource!;
      this.jwt = new JwtTokens(m.oauth, audience);
      if (m.oauth.introspection) this.introspection = new Introspection(m.oauth.introspection, m.oauth, audience);
    }
    if (m?.apiKeys) {
      this.apiKeys = new ApiKeyStore(m.apiKeys, log.child({ component: 'api-keys' }));
      this.apiKeys.watchFile();
    }
    if (m?.mtls) this.certs = new ClientCerts(m.mtls);
  }

  /** Whether clients must authenticate at all. */
  get required(): boolean {
    return this.methods !== undefined;
  }

  /** The principal of a request; throws UNAUTHORIZED (401) or INSUFFICIENT_SCOPE (403) with what to do. */
  async authenticate(credentials: Credentials): Promise<Principal> {
    try {
      return await this.principalOf(credentials);
    } catch (err) {
      this.refused(refusalOf(err));
      throw err;
    }
  }

  private async principalOf(credentials: Credentials): Promise<Principal> {
    if (!this.methods) return ANONYMOUS;
    const token = bearer(credentials.headers);
    if (token === undefined) {
      if (credentials.certificate && this.certs) return this.certs.principal(credentials.certificate);
      throw new FleetError('UNAUTHORIZED', `authentication required: send Authorization: Bearer <${this.accepted()}>`);
    }
    const found = await this.fromToken(token);
    const missing = found.kind === 'oauth' ? (this.methods.oauth?.requiredScopes ?? []).filter((s) => !found.scopes.includes(s)) : [];
    if (missing.length > 0) throw insufficientScope(missing);
    return found;
  }

  /** RFC 9728 metadata of this gateway as a protected resource, or undefined without OAuth. */
  resourceMetadata(extraScopes: readonly string[]): Record<string, unknown> | undefined {
    const m = this.methods;
    if (!m?.oauth) return undefined;
    const scopes = m.oauth.scopesSupported ?? [...new Set([...m.oauth.requiredScopes, ...extraScopes])];
    return {
      resource: m.resource,
      authorization_servers: [m.oauth.issuer],
      bearer_methods_supported: ['header'],
      ...(scopes.length > 0 ? { scopes_supported: scopes } : {}),
      resource_name: 'mcp-fleet gateway',
    };
  }

  /** The WWW-Authenticate value for a 401 or 403 answer of `error`. */
  challenge(error: FleetError, metadataUrl: string | undefined): string {
    const params: string[] = [];
    if (metadataUrl && this.methods?.oauth) params.push(`resource_metadata="${metadataUrl}"`);
    const code = error.code === 'INSUFFICIENT_SCOPE' ? 'insufficient_scope' : typeof error.data?.error === 'string' ? error.data.error : undefined;
    if (code) params.push(`error="${code}"`);
    const scope = error.code === 'INSUFFICIENT_SCOPE' ? error.data?.scope : this.methods?.oauth?.requiredScopes.join(' ');
    if (typeof scope === 'string' && scope) params.push(`scope="${scope}"`);
    if (code) params.push(`error_description="${error.message.replace(/["\\]/g, "'")}"`);
    return params.length > 0 ? `Bearer ${params.join(', ')}` : 'Bearer';
  }

  close(): void {
    this.apiKeys?.close();
  }

  private async fromToken(token: string): Promise<Principal> {
    // a key is known by its hash, or by the prefix of the keys the gateway makes (then unknown means revoked)
    if (this.apiKeys) {
      if (token.startsWith(API_KEY_PREFIX)) return this.apiKeys.authenticate(token);
      const byKey = this.apiKeys.find(token);
      if (byKey) return byKey;
    }
    if (this.jwt && JwtTokens.looksLikeJwt(token)) return this.jwt.authenticate(token);
    if (this.introspection) return this.introspection.authenticate(token);
    throw new FleetError('UNAUTHORIZED', `the bearer credential is not valid: send ${this.accepted()}`, { data: { error: 'invalid_token' } });
  }

  private accepted(): string {
    const m = this.methods!;
    return [m.oauth && 'an access token', m.apiKeys && 'an API key', m.mtls && 'a client certificate'].filter(Boolean).join(' or ');
  }
}

/** 403 insufficient_scope naming the scopes, as RFC 6750 §3.1 and the MCP spec's step-up flow want. */
export function insufficientScope(scopes: readonly string[]): FleetError {
  const scope = scopes.join(' ');
  return new FleetError('INSUFFICIENT_SCOPE', `insufficient scope: this needs the scope${scopes.length > 1 ? 's' : ''} ${scope}`, { data: { scope } });
}

/** The bearer credential: `Authorization: Bearer ...`, or `X-API-Key` (for tools that cannot set Authorization). */
function bearer(headers: IncomingHttpHeaders): string | undefined {
  const auth = headers.authorization;
  if (typeof auth === 'string') {
    const m = /^Bearer[ ]+([\x21-\x7e]+)[ ]*$/i.exec(auth);
    if (!m) throw new FleetError('UNAUTHORIZED', 'the Authorization header must be "Bearer <credential>"', { data: { error: 'invalid_request' } });
    return m[1];
  }
  const key = headers['x-api-key'];
  return typeof key === 'string' && key !== '' ? key : undefined;
}

/** Why a request was refused, in the few words the metrics use (never the credential or the principal). */
export type AuthRefusal = 'missing' | 'invalid_request' | 'invalid_token' | 'insufficient_scope' | 'other';

function refusalOf(err: unknown): AuthRefusal {
  if (!(err instanceof FleetError)) return 'other';
  if (err.code === 'INSUFFICIENT_SCOPE') return 'insufficient_scope';
  const kind = err.data?.error;
  if (kind === 'invalid_request' || kind === 'invalid_token') return kind;
  return err.code === 'UNAUTHORIZED' ? 'missing' : 'other';
}
