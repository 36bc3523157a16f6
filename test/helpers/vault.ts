/**
 * A real Vault-API server for the secrets tests: HashiCorp Vault's dev mode (in-memory, unsealed,
 * KV v2 at secret/), built from the Go module proxy by scripts/install-vault.sh into
 * .cache/bin/vault, on a free loopback port. `api()` talks to it with the root token, as an
 * operator would, to write secrets, policies, AppRoles and to look tokens up. The root token, every
 * value written to KV and every token or secret id Vault answers are registered as test secrets.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { freePort } from './ports';
import { killGroup } from './remote-servers';
import { testSecret } from './secret-values';
import { waitFor } from './wait';

export const VAULT_BIN = process.env.MCP_FLEET_VAULT_BIN ?? resolve(__dirname, '..', '..', '.cache', 'bin', 'vault');

export interface DevVault {
  address: string;
  rootToken: string;
  /** One API call as root (or as `token`); resolves with the parsed JSON (undefined for 204), rejects on a non-2xx status. */
  api(method: string, path: string, body?: unknown, token?: string): Promise<Record<string, any> | undefined>;
  stop(): Promise<void>;
}

export async function startDevVault(): Promise<DevVault> {
  if (!existsSync(VAULT_BIN)) throw new Error(`no Vault binary at ${VAULT_BIN}: run scripts/install-vault.sh (CI does, in .ci/run)`);
  const port = await freePort();
  const rootToken = testSecret(`root-${Math.random().toString(36).slice(2)}`, 'Vault root token');
  const home = mkdtempSync(join(tmpdir(), 'vault-home-'));
  const child: ChildProcess = spawn(
    VAULT_BIN,
    ['server', '-dev', `-dev-root-token-id=${rootToken}`, `-dev-listen-address=127.0.0.1:${port}`, '-dev-no-store-token'],
    { env: { PATH: process.env.PATH, HOME: home, VAULT_DISABLE_MLOCK: 'true' }, stdio: ['ignore', 'ignore', 'pipe'], detached: true },
  );
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => (stderr = (stderr + c.toString()).slice(-4000)));
  const address = `http://127.0.0.1:${port}`;
  const api: DevVault['api'] = async (method, path, body, token = rootToken) => {
    const data = (body as { data?: Record<string, unknown> } | undefined)?.data;
    if (/^[^/]+\/data\//.test(path) && data) for (const [k, v] of Object.entries(data)) if (typeof v === 'string') testSecret(v, `Vault ${path}#${k}`);
    const res = await fetch(`${address}/v1/${path}`, {
      method,
      headers: { 'x-vault-token': token, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${path}: HTTP ${res.status} ${text}`);
    const answer = text ? (JSON.parse(text) as Record<string, any>) : undefined;
    for (const credential of [answer?.auth?.client_token, answer?.data?.secret_id, answer?.data?.role_id])
      if (typeof credential === 'string') testSecret(credential, `Vault credential from ${method} ${path}`);
    return answer;
  };
  const stop = async () => {
    await killGroup(child);
    rmSync(home, { recursive: true, force: true });
  };
  try {
    await waitFor(
      async () => {
        if (child.exitCode !== null) throw new Error(`vault exited with ${child.exitCode}: ${stderr}`);
        const res = await fetch(`${address}/v1/sys/health`);
        return res.status === 200;
      },
      'the dev Vault to be unsealed and active',
      60_000,
    );
    // the dev server mounts KV v2 at secret/ just after it reports healthy
    await waitFor(() => api('GET', 'sys/mounts/secret').then(() => true), 'the KV v2 mount secret/', 30_000);
  } catch (err) {
    await stop();
    throw err;
  }
  return { address, rootToken, api, stop };
}
