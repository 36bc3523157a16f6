/**
 * Secrets from a real Vault-API server (HashiCorp Vault in dev mode, test/helpers/vault.ts): KV v2
 * reads with token and AppRole auth, token renewal and re-login seen from Vault's side, rotation of
 * a remote upstream's Authorization header while a client session stays open, refusals that name
 * the reference, and no secret value in any log line.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { connectGateway, type GatewayConnection } from '../../gateway/client/connect';
import { resolveConfig, type LoadedConfig } from '../../gateway/config/load';
import { FleetError } from '../../gateway/protocol/errors';
import { startGateway, type RunningGateway } from '../../gateway/gateway';
import { capturingLogger } from '../helpers/log-lines';
import { startAuthCheckingServer, type AuthCheckingServer } from '../helpers/auth-checking-server';
import { startDevVault, type DevVault } from '../helpers/vault';
import { waitFor } from '../helpers/wait';
import { testSecret } from '../helpers/secret-values';

jest.setTimeout(120_000);

const OLD = testSecret('ghp_rotation-old-0123456789abcdefgh');
const NEW = testSecret('ghp_rotation-new-9876543210hgfedcba');

describe('secrets from Vault', () => {
  let vault: DevVault;
  let dir: string;
  /** A token that may read secret/github only. */
  let readerToken: string;
  const { log, lines } = capturingLogger('debug');
  const loaded: LoadedConfig[] = [];
  /** Every credential the tests handle, to scan the logs for at the end. */
  const secrets = new Set<string>([OLD, NEW]);

  const load = async (doc: Record<string, unknown>, env: NodeJS.ProcessEnv = {}) => {
    const l = await resolveConfig(doc, 'fleet.yaml', {}, { env, log });
    loaded.push(l);
    return l;
  };
  const problems = (doc: Record<string, unknown>, env: NodeJS.ProcessEnv = {}) =>
    load(doc, env).then(
      () => [] as string[],
      (err: unknown) => (err as FleetError).data?.problems as string[],
    );
  const vaultWith = (auth: unknown) => ({ address: vault.address, refreshIntervalMs: 200, auth });
  const remote = (url: string, ref = '${secret:vault:secret/github#token}') => ({ url, prefix: 'gh', headers: { Authorization: `Bearer ${ref}` } });
  const createToken = async (body: Record<string, unknown>) => {
    const token = (await vault.api('POST', 'auth/token/create', body))!.auth.client_token as string;
    secrets.add(token);
    return token;
  };

  beforeAll(async () => {
    vault = await startDevVault();
    secrets.add(vault.rootToken);
    dir = mkdtempSync(join(tmpdir(), 'vault-secrets-'));
    await vault.api('POST', 'secret/data/github', { data: { token: OLD, user: 'octocat' } });
    await vault.api('POST', 'secret/data/other', { data: { x: 'not-for-this-token' } });
    await vault.api('PUT', 'sys/policies/acl/github-reader', { policy: 'path "secret/data/github" { capabilities = ["read"] }' });
    readerToken = await createToken({ policies: ['github-reader'], ttl: '1h' });
  });

  afterAll(async () => {
    for (const l of loaded) l.secrets?.close();
    await vault?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('reads KV v2 with token auth and names the reference of a missing path, a missing field and a denied one', async () => {
    const { config } = await load(
      {
        vault: vaultWith({ token: '${secret:env:VAULT_TOKEN}' }),
        admin: { token: '${secret:vault:secret/github#token}' },
        servers: { a: { command: 'node' } },
      },
      { VAULT_TOKEN: readerToken },
    );
    expect(config.admin?.token).toBe(OLD);

    expect(
      await problems(
        {
          vault: vaultWith({ token: '${secret:env:VAULT_TOKEN}' }),
          servers: {
            a: remote('http://127.0.0.1:1/mcp', '${secret:vault:secret/nothere#token}'),
            b: remote('http://127.0.0.1:1/mcp', '${secret:vault:secret/github#nofield}'),
            c: remote('http://127.0.0.1:1/mcp', '${secret:vault:secret/other#x}'),
          },
        },
        { VAULT_TOKEN: readerToken },
      ),
    ).toEqual([
      expect.stringMatching(
        /^servers\.a\.headers\.Authorization: cannot resolve \$\{secret:vault:secret\/nothere#token\}: read secret\/nothere: (not found \(HTTP 404\)|permission denied)/,
      ),
      'servers.b.headers.Authorization: cannot resolve ${secret:vault:secret/github#nofield}: Vault secret secret/github has no field "nofield" (it has 2 fields)',
      expect.stringMatching(
        /^servers\.c\.headers\.Authorization: cannot resolve \$\{secret:vault:secret\/other#x\}: read secret\/other: permission denied \(HTTP 403/,
      ),
    ]);
    // as root, a path that does not exist is a 404 (the reader's policy makes it a 403 above)
    expect(
      await problems(
        { vault: vaultWith({ token: '${secret:env:VAULT_TOKEN}' }), servers: { a: remote('http://127.0.0.1:1/mcp', '${secret:vault:secret/nothere#token}') } },
        { VAULT_TOKEN: vault.rootToken },
      ),
    ).toEqual(['servers.a.headers.Authorization: cannot resolve ${secret:vault:secret/nothere#token}: read secret/nothere: not found (HTTP 404)']);
  });

  it('refuses a Vault token written in clear, and a token Vault does not know', async () => {
    expect(await problems({ vault: vaultWith({ token: readerToken }), servers: { a: remote('http://127.0.0.1:1/mcp') } })).toEqual([
      expect.stringMatching(/^vault\.auth\.token: a Vault credential is written in clear in the config; use \$\{secret:file:/),
    ]);
    expect(
      await problems(
        { vault: vaultWith({ token: '${secret:env:T}' }), servers: { a: remote('http://127.0.0.1:1/mcp') } },
        { T: testSecret('hvs.not-a-real-token') },
      ),
    ).toEqual([expect.stringMatching(/^vault: token lookup: permission denied \(HTTP 403/)]);
  });

  it('logs in with AppRole (secret id from a file) and logs in again when the token nears its max ttl', async () => {
    await vault.api('POST', 'sys/auth/approle', { type: 'approle' });
    await vault.api('POST', 'auth/approle/role/gateway', { token_policies: ['github-reader'], token_ttl: '3s', token_max_ttl: '4s' });
    const roleId = (await vault.api('GET', 'auth/approle/role/gateway/role-id'))!.data.role_id as string;
    const secretId = (await vault.api('POST', 'auth/approle/role/gateway/secret-id'))!.data.secret_id as string;
    secrets.add(secretId);
    writeFileSync(join(dir, 'secret-id'), `${secretId}\n`);
    const ready = () => lines.filter((l) => l.includes('"vault token ready"') && l.includes('"method":"approle"'));
    const before = ready().length;
    const { config } = await load({
      vault: vaultWith({ approle: { roleId, secretId: `\${secret:file:${dir}/secret-id}` } }),
      admin: { token: '${secret:vault:secret/github#token}' },
      servers: { a: { command: 'node' } },
    });
    expect(config.admin?.token).toBe(OLD);
    // 3 s ttl, 4 s max: the second renewal is granted less than a third of 3 s, so the session logs in anew
    await waitFor(() => ready().length >= before + 2, 'a second AppRole login', 20_000);
    const accessors = ready()
      .slice(before)
      .map((l) => JSON.parse(l).accessor as string);
    expect(new Set(accessors).size).toBe(accessors.length);
    // Vault either grants the last seconds before the max ttl (the session sees it is near) or refuses the renewal
    expect(lines.filter((l) => l.includes('logging in again')).map((l) => JSON.parse(l).msg as string)).toEqual([
      expect.stringMatching(/^vault token (is near its max ttl|renewal failed); logging in again$/),
    ]);

    expect(
      await problems(
        { vault: vaultWith({ approle: { roleId, secretId: '${secret:env:SID}' } }), servers: { a: remote('http://127.0.0.1:1/mcp') } },
        { SID: 'wrong-secret-id' },
      ),
    ).toEqual([expect.stringMatching(/^vault: AppRole login at auth\/approle: /)]);
  });

  it("renews a short-lived token before its ttl ends, as Vault's own lookup shows", async () => {
    const token = await createToken({ policies: ['github-reader'], ttl: '3s', explicit_max_ttl: '1h' });
    const lookup = async () => (await vault.api('POST', 'auth/token/lookup', { token }))!.data as { expire_time: string; last_renewal_time?: number };
    const first = await lookup();
    await load(
      {
        vault: vaultWith({ token: '${secret:env:VAULT_TOKEN}' }),
        admin: { token: '${secret:vault:secret/github#token}' },
        servers: { a: { command: 'node' } },
      },
      { VAULT_TOKEN: token },
    );
    const renewed = await waitFor(async () => {
      const now = await lookup();
      return now.last_renewal_time && Date.parse(now.expire_time) > Date.parse(first.expire_time) ? now : undefined;
    }, 'Vault to report the token renewed');
    expect(Date.parse(renewed.expire_time)).toBeGreaterThan(Date.parse(first.expire_time));
  });

  describe('rotation of a remote upstream credential', () => {
    let upstream: AuthCheckingServer;
    let gw: RunningGateway;
    let conn: GatewayConnection;

    beforeAll(async () => {
      upstream = await startAuthCheckingServer([`Bearer ${OLD}`]);
      const { config } = await load(
        { vault: vaultWith({ token: '${secret:env:VAULT_TOKEN}' }), listen: '127.0.0.1:0', servers: { github: remote(upstream.url) } },
        { VAULT_TOKEN: readerToken },
      );
      gw = await startGateway(config, { log });
      conn = await connectGateway(gw.url!, 'streamable-http');
    });
    afterAll(async () => {
      await conn?.close();
      await gw?.stop();
      await upstream?.stop();
    });

    const whoami = async () => {
      const r = (await conn.client.callTool({ name: 'gh__whoami', arguments: {} })) as { content: { text: string }[]; isError?: boolean };
      if (r.isError) throw new Error(r.content[0].text);
      return r.content[0].text;
    };

    it('sends the new header with the next request after Vault has a new version, while the client session stays open', async () => {
      expect(await whoami()).toBe(`Bearer ${OLD}`);
      const session = (conn.client.transport as StreamableHTTPClientTransport).sessionId;
      const opened = upstream.sessionsOpened;

      upstream.accepted.add(`Bearer ${NEW}`);
      await vault.api('POST', 'secret/data/github', { data: { token: NEW, user: 'octocat' } });
      await waitFor(async () => (await whoami()) === `Bearer ${NEW}`, 'the rotated token to reach the upstream');
      upstream.accepted.delete(`Bearer ${OLD}`);
      expect(await whoami()).toBe(`Bearer ${NEW}`);

      // the same client session, and the same upstream session: nothing was reconnected
      expect((conn.client.transport as StreamableHTTPClientTransport).sessionId).toBe(session);
      expect(upstream.sessionsOpened).toBe(opened);
      expect(lines.some((l) => l.includes('"secrets rotated"') && l.includes('secret/github#token'))).toBe(true);
    });

    it('does not echo the header in the error of a refused upstream request', async () => {
      upstream.accepted.clear(); // now it answers 401 and quotes the header it got, as a careless server might
      const err = await whoami().then(
        () => undefined,
        (e: Error) => e,
      );
      expect(err?.message).toMatch(/HTTP 401/);
      expect(err!.message).not.toContain(NEW);
    });
  });

  it('never wrote a secret value into a log line', () => {
    const text = lines.join('');
    expect(text.length).toBeGreaterThan(0);
    for (const s of secrets) expect(text).not.toContain(s);
  });
});
