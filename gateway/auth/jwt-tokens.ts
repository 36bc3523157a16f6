/**
 * OAuth 2.1 bearer JWTs, checked as the MCP authorization spec asks of a resource server: the
 * signature against the issuer's JWKS (fetched once, cached, fetched again for an unknown `kid`, at
 * most once per cooldown so that made-up kids cannot make the gateway hammer the issuer), the
 * issuer, the audience (this gateway's canonical resource URI, RFC 8707), exp and nbf with a small
 * skew. The JWKS location comes from the config or the issuer's own metadata.
 *
 * A token that verified is remembered (by its SHA-256, in a bounded map) until its exp or for a
 * minute, whichever is sooner: a client sends the same token with every request, and verifying
 * an ES256 signature each time cost 0.6× of a whole forwarded call (bench:overhead fast-http-auth).
 */
import { createHash } from 'node:crypto';
import { createRemoteJWKSet, errors, jwtVerify, type JWTPayload } from 'jose';
import type { OAuthSettings } from '../config/auth-schema';
import { FleetError } from '../protocol/errors';
import { issuerMetadata } from '../http/oauth-metadata';
import { PresentedToken } from './presented-token';
import { principal, type Principal } from './principal';

type KeySet = ReturnType<typeof createRemoteJWKSet>;

const MAX_REMEMBERED = 10_000;
const REMEMBER_MS = 60_000;

export class JwtTokens {
  private keys: Promise<KeySet> | undefined;
  private readonly verified = new Map<string, { principal: Principal; until: number }>();

  constructor(
    private readonly settings: OAuthSettings,
    private readonly audience: string,
    private readonly now: () => number = Date.now,
  ) {}

  /** Whether `token` has the shape of a JWS (three base64url parts), so that it is worth verifying as one. */
  static looksLikeJwt(token: string): boolean {
    return /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/.test(token);
  }

  async authenticate(token: string): Promise<Principal> {
    const key = createHash('sha256').update(token).digest('base64url');
    const known = this.verified.get(key);
    if (known && known.until > this.now()) return known.principal;
    if (known) this.verified.delete(key);
    const keys = await this.keySet();
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, keys, {
        issuer: this.settings.issuer,
        audience: this.audience,
        algorithms: this.settings.algorithms,
        clockTolerance: this.settings.clockSkewSec,
        requiredClaims: ['exp', 'sub'],
      }));
    } catch (err) {
      throw new FleetError('UNAUTHORIZED', `the access token is not valid: ${why(err)}`, { data: { error: 'invalid_token' } });
    }
    const principal = fromClaims(payload, this.settings.rolesClaim, new PresentedToken(token, key));
    const expires = typeof payload.exp === 'number' ? (payload.exp + this.settings.clockSkewSec) * 1000 : 0;
    if (this.verified.size >= MAX_REMEMBERED) this.verified.delete(this.verified.keys().next().value!);
    this.verified.set(key, { principal, until: Math.min(expires, this.now() + REMEMBER_MS) });
    return principal;
  }

  private keySet(): Promise<KeySet> {
    this.keys ??= this.jwksUri().then((uri) =>
      createRemoteJWKSet(new URL(uri), { cooldownDuration: this.settings.jwksRefreshCooldownSec * 1000, cacheMaxAge: 10 * 60_000, timeoutDuration: 5_000 }),
    );
    // a failed discovery is tried again by the next request, not remembered
    this.keys.catch(() => (this.keys = undefined));
    return this.keys;
  }

  private async jwksUri(): Promise<string> {
    if (this.settings.jwksUri) return this.settings.jwksUri;
    const uri = (await issuerMetadata(this.settings.issuer)).jwks_uri;
    if (typeof uri !== 'string')
      throw new FleetError('UPSTREAM_UNAVAILABLE', `the metadata of ${this.settings.issuer} names no jwks_uri; set auth.oauth.jwksUri`);
    return uri;
  }
}

/** The principal a verified token (or an introspection answer) describes, holding that token. */
export function fromClaims(claims: Record<string, unknown>, rolesClaim: string, token: PresentedToken): Principal {
  return principal('oauth', String(claims.sub), listClaim(claims.scope ?? claims.scp), listClaim(claims[rolesClaim]), token);
}

function listClaim(value: unknown): string[] {
  if (typeof value === 'string') return value.split(' ').filter(Boolean);
  if (Array.isArray(value)) return value.filter((v): v is string => typeof v === 'string');
  return [];
}

/** What was wrong with a token, in words a client developer can act on (never the token). */
function why(err: unknown): string {
  if (err instanceof errors.JWTExpired) return 'it expired';
  if (err instanceof errors.JWTClaimValidationFailed) {
    if (err.claim === 'nbf') return 'it is not valid yet (nbf)';
    if (err.claim === 'aud') return 'it was issued for another audience (aud is not this gateway)';
    if (err.claim === 'iss') return 'it comes from another issuer';
    return `claim ${err.claim}: ${err.reason}`;
  }
  if (err instanceof errors.JWKSNoMatchingKey) return 'no key of the issuer matches its kid';
  if (err instanceof errors.JWSSignatureVerificationFailed) return 'its signature does not verify';
  if (err instanceof errors.JOSEAlgNotAllowed) return 'its signature algorithm is not accepted';
  if (err instanceof errors.JWKSTimeout) return "the issuer's keys could not be fetched in time";
  if (err instanceof errors.JOSEError) return err.message;
  return 'it is malformed';
}
