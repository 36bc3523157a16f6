/**
 * A real authorization server for a test (test/fixtures/authorization-server.ts, oidc-provider in
 * its own process), tokens from it by client credentials with a resource indicator, and tokens the
 * test signs itself with the server's own key for the refusal paths no real server would issue
 * (expired, not yet valid, another audience or issuer). Private keys, client secrets and every
 * token are registered as test secrets (secret-values.ts).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import { createRemoteJWKSet, exportJWK, generateKeyPair, jwtVerify, SignJWT, type CryptoKey, type JWK } from 'jose';
import type { AuthorizationServerConfig } from '../fixtures/authorization-server';
import type { Check } from './auth-checking-server';
import { freePort } from './ports';
import { killGroup } from './remote-servers';
import { testSecret } from './secret-values';
import { MARKER_VAR } from './servers';

const AS_JS = resolve(__dirname, '..', '..', 'dist', 'test', 'fixtures', 'authorization-server.js');

export interface SigningKey {
  kid: string;
  privateKey: CryptoKey;
  jwk: JWK;
}

export async function signingKey(kid: string): Promise<SigningKey> {
  const { privateKey } = await generateKeyPair('ES256', { extractable: true });
  const jwk = { ...(await exportJWK(privateKey)), kid, alg: 'ES256', use: 'sig' };
  testSecret(jwk.d!, `private signing key ${kid} (d)`);
  return { kid, privateKey, jwk };
}

export interface AuthorizationServer {
  issuer: string;
  port: number;
  /** An access token for `clientId` by client credentials, for the server's resource. */
  token(clientId: string, clientSecret: string, scope?: string): Promise<string>;
  stop(): Promise<void>;
}

export async function startAuthorizationServer(
  options: Omit<AuthorizationServerConfig, 'port' | 'keys'> & { keys: SigningKey[]; port?: number },
  marker: string,
): Promise<AuthorizationServer> {
  const port = options.port ?? (await freePort());
  const config: AuthorizationServerConfig = { ...options, port, keys: options.keys.map((k) => k.jwk) };
  for (const c of options.clients) testSecret(c.clientSecret, `client secret of ${c.clientId}`);
  const child: ChildProcess = spawn(process.execPath, [AS_JS, JSON.stringify(config)], {
    env: { ...process.env, [MARKER_VAR]: marker },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let err = '';
  child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
  const issuer = await new Promise<string>((ok, fail) => {
    let out = '';
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /listening (\S+)/.exec(out);
      if (m) ok(m[1]);
    });
    child.once('exit', (code) => fail(new Error(`authorization server exited with ${code}: ${err}`)));
  });
  return {
    issuer,
    port,
    async token(clientId, clientSecret, scope) {
      const body = new URLSearchParams({ grant_type: 'client_credentials', resource: options.resource, ...(scope ? { scope } : {}) });
      const res = await fetch(`${issuer}/token`, {
        method: 'POST',
        headers: {
          authorization: `Basic ${testSecret(Buffer.from(`${clientId}:${testSecret(clientSecret)}`).toString('base64'), `Basic credential of ${clientId}`)}`,
          'content-type': 'application/x-www-form-urlencoded',
        },
        body,
      });
      const json = (await res.json()) as { access_token?: string; error?: string; error_description?: string };
      if (!json.access_token) throw new Error(`no token for ${clientId}: ${res.status} ${json.error} ${json.error_description}`);
      return testSecret(json.access_token, `access token of ${clientId}`);
    },
    stop: () => killGroup(child),
  };
}

/** A JWT signed by `key` with the given claims over sane defaults (valid now, for an hour). */
export async function signToken(key: SigningKey, claims: Record<string, unknown>, header: Record<string, unknown> = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const token = await new SignJWT({ iat: now, exp: now + 3600, ...claims })
    .setProtectedHeader({ alg: 'ES256', kid: key.kid, typ: 'at+jwt', ...header })
    .sign(key.privateKey);
  return testSecret(token, `token signed with ${key.kid}`);
}

/**
 * A resource server's check of `Authorization: Bearer <JWT>`: signed by the issuer's keys (its
 * JWKS), from that issuer, for `audience` (both read when a request comes); the claims, or undefined for anything else.
 */
export function jwtCheck(issuer: () => string, audience: () => string): Check {
  let keys: ReturnType<typeof createRemoteJWKSet> | undefined;
  return async (authorization) => {
    const m = /^Bearer (\S+)$/.exec(authorization);
    if (!m) return undefined;
    keys ??= createRemoteJWKSet(new URL(`${issuer()}/jwks`));
    try {
      return (await jwtVerify(m[1], keys, { issuer: issuer(), audience: audience() })).payload;
    } catch {
      return undefined;
    }
  };
}
