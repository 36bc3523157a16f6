/**
 * What the auth scenario's gateways need: an API key, and a JWT issuer of the bench's own — an
 * ES256 key whose JWKS a loopback HTTP server serves (the gateway fetches it once, as it would
 * from an authorization server) and a token signed with it, valid for the run.
 */
import { createServer } from 'node:http';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';

export const BENCH_API_KEY = 'bench-api-key-0123456789abcdefghijklmnopqrstuvwxyz';
const AUDIENCE = 'http://bench.invalid/mcp';
const ISSUER = 'http://bench.invalid/issuer';

export interface BenchIssuer {
  /** The gateway's `auth` for bearer JWTs from this issuer. */
  auth: Record<string, unknown>;
  token: string;
  stop(): Promise<void>;
}

export async function startBenchIssuer(): Promise<BenchIssuer> {
  const { privateKey, publicKey } = await generateKeyPair('ES256');
  const jwk = { ...(await exportJWK(publicKey)), kid: 'bench', alg: 'ES256', use: 'sig' };
  const server = createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [jwk] })));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  const token = await new SignJWT({ scope: 'mcp:tools' })
    .setProtectedHeader({ alg: 'ES256', kid: 'bench', typ: 'at+jwt' })
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setSubject('bench')
    .setIssuedAt()
    .setExpirationTime('2h')
    .sign(privateKey);
  return {
    auth: { resource: AUDIENCE, oauth: { issuer: ISSUER, jwksUri: `http://127.0.0.1:${port}/jwks`, requiredScopes: ['mcp:tools'] } },
    token,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
