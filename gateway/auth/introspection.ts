/**
 * RFC 7662 token introspection, for access tokens that are not JWTs: the authorization server says
 * whether a token is active and for whom. Answers are kept for a short while (never past the
 * token's exp) under the token's hash, in a bounded cache, so a busy client costs one
 * introspection per interval rather than one per request.
 */
import { createHash } from 'node:crypto';
import type { OAuthSettings } from '../config/auth-schema';
import { clientBasicAuth } from '../http/oauth-metadata';
import { FleetError } from '../protocol/errors';
import { fromClaims } from './jwt-tokens';
import { PresentedToken } from './presented-token';
import type { Principal } from './principal';

const MAX_CACHED = 10_000;

export class Introspection {
  private readonly cache = new Map<string, { principal: Principal; until: number }>();

  constructor(
    private readonly settings: NonNullable<OAuthSettings['introspection']>,
    private readonly oauth: OAuthSettings,
    private readonly audience: string,
    private readonly now: () => number = Date.now,
  ) {}

  async authenticate(token: string): Promise<Principal> {
    const key = createHash('sha256').update(token).digest('base64url');
    const hit = this.cache.get(key);
    if (hit && hit.until > this.now()) return hit.principal;
    this.cache.delete(key);
    const claims = await this.ask(token);
    const nowSec = this.now() / 1000;
    const skew = this.oauth.clockSkewSec;
    if (claims.active !== true) throw invalid('the authorization server says it is not active');
    if (typeof claims.exp === 'number' && claims.exp + skew <= nowSec) throw invalid('it expired');
    if (typeof claims.nbf === 'number' && claims.nbf - skew > nowSec) throw invalid('it is not valid yet (nbf)');
    if (claims.iss !== undefined && claims.iss !== this.oauth.issuer) throw invalid('it comes from another issuer');
    const aud = Array.isArray(claims.aud) ? claims.aud : claims.aud === undefined ? [] : [claims.aud];
    if (!aud.includes(this.audience)) throw invalid('it was issued for another audience (aud is not this gateway)');
    if (typeof claims.sub !== 'string') throw invalid('the introspection answer names no subject');
    const principal = fromClaims(claims, this.oauth.rolesClaim, new PresentedToken(token, key));
    const until = Math.min(this.now() + this.settings.cacheSec * 1000, typeof claims.exp === 'number' ? claims.exp * 1000 : Infinity);
    if (this.cache.size >= MAX_CACHED) this.cache.delete(this.cache.keys().next().value!);
    this.cache.set(key, { principal, until });
    return principal;
  }

  private async ask(token: string): Promise<Record<string, unknown>> {
    let res: Response;
    try {
      res = await fetch(this.settings.url, {
        method: 'POST',
        headers: {
          authorization: clientBasicAuth(this.settings.clientId, this.settings.clientSecret),
          'content-type': 'application/x-www-form-urlencoded',
          accept: 'application/json',
        },
        body: new URLSearchParams({ token, token_type_hint: 'access_token' }),
        signal: AbortSignal.timeout(5_000),
      });
    } catch (err) {
      throw new FleetError('UPSTREAM_UNAVAILABLE', `token introspection at ${this.settings.url} failed: ${(err as Error).message}`);
    }
    if (!res.ok) {
      // the authorization server's own words (RFC 6749 error and description), never the token
      const why = (await res.json().catch(() => undefined)) as { error?: unknown; error_description?: unknown } | undefined;
      const detail = why?.error ? `: ${String(why.error)}${why.error_description ? ` (${String(why.error_description).slice(0, 200)})` : ''}` : '';
      throw new FleetError('UPSTREAM_UNAVAILABLE', `token introspection at ${this.settings.url} answered HTTP ${res.status}${detail}`);
    }
    const body: unknown = await res.json().catch(() => undefined);
    if (typeof body !== 'object' || body === null || Array.isArray(body))
      throw new FleetError('UPSTREAM_UNAVAILABLE', `token introspection at ${this.settings.url} answered no JSON object`);
    return body as Record<string, unknown>;
  }
}

function invalid(reason: string): FleetError {
  return new FleetError('UNAUTHORIZED', `the access token is not valid: ${reason}`, { data: { error: 'invalid_token' } });
}
