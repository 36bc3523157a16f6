/**
 * An OAuth authorization server's metadata, as the MCP authorization spec finds it: RFC 8414 first
 * (the path inserted after the host), then OpenID discovery. The gateway reads it as a resource
 * server (where the JWKS is) and as an OAuth client of upstreams (where the token endpoint is).
 */
import { FleetError } from '../protocol/errors';

/** The issuer's metadata: RFC 8414 first (path inserted after the host), then OpenID discovery, as the MCP spec lists them. */
export async function issuerMetadata(issuer: string): Promise<Record<string, unknown>> {
  const url = new URL(issuer);
  const path = url.pathname.replace(/\/$/, '');
  const candidates = [
    `${url.origin}/.well-known/oauth-authorization-server${path}`,
    `${url.origin}/.well-known/openid-configuration${path}`,
    `${url.origin}${path}/.well-known/openid-configuration`,
  ];
  const failures: string[] = [];
  for (const candidate of candidates) {
    try {
      const res = await fetch(candidate, { signal: AbortSignal.timeout(5_000), headers: { accept: 'application/json' } });
      if (!res.ok) {
        failures.push(`${candidate}: HTTP ${res.status}`);
        continue;
      }
      const doc = (await res.json()) as Record<string, unknown>;
      if (doc.issuer !== issuer) {
        failures.push(`${candidate}: names issuer ${JSON.stringify(doc.issuer)}`);
        continue;
      }
      return doc;
    } catch (err) {
      failures.push(`${candidate}: ${(err as Error).message}`);
    }
  }
  throw new FleetError('UPSTREAM_UNAVAILABLE', `cannot read the metadata of the authorization server ${issuer} (${failures.join('; ')})`);
}

/** HTTP Basic client authentication at a token or introspection endpoint (RFC 6749 §2.3.1: each part form-encoded first). */
export function clientBasicAuth(clientId: string, clientSecret: string): string {
  return `Basic ${Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(clientSecret)}`).toString('base64')}`;
}
