/**
 * docker/secrets-init.sh run for real: with the host's sh against files and a real Vault (dev
 * mode, read with curl and a token file), and inside a container of the offline base image
 * (busybox sh, uid 10001, a tmpfs). Each refusal stops the command with exit 78 and names the
 * source, never the value.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ensureScriptedImage } from '../helpers/docker';
import { startDevVault, type DevVault } from '../helpers/vault';

jest.setTimeout(180_000);

const SCRIPT = resolve(__dirname, '..', '..', 'docker', 'secrets-init.sh');
const SHOW =
  'for f in "$SECRETS_DIR"/*; do printf "%s %s %s\\n" "$(basename "$f")" "$(stat -c %a "$f")" "$(cat "$f")"; done; printf "env %s\\n" "${DB_PASSWORD:-unset}"';

/** Runs the script on the host (a temp dir instead of a tmpfs) in front of a command that shows what it got. */
function run(dir: string, env: Record<string, string>) {
  return spawnSync('sh', [SCRIPT, 'sh', '-c', SHOW], {
    env: { PATH: process.env.PATH!, SECRETS_DIR: mkdtempSync(join(dir, 'out-')), SECRETS_INIT_ALLOW_DISK: '1', ...env },
    encoding: 'utf8',
  });
}

function expectRefused(r: ReturnType<typeof run>, message: RegExp): void {
  expect({ status: r.status, stdout: r.stdout }).toEqual({ status: 78, stdout: '' });
  expect(r.stderr).toMatch(message);
}

describe('docker/secrets-init.sh with files', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'secrets-init-'));
    writeFileSync(join(dir, 'db-password'), 'file-db-password\n');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('writes each NAME_FILE with mode 0400, exports it only when asked, then runs the command', () => {
    const exported = run(dir, { DB_PASSWORD_FILE: join(dir, 'db-password'), SECRETS_INIT_EXPORT: '1' });
    expect(exported.stderr).toContain('secrets-init: wrote 1 secret file(s)');
    expect(exported.stdout).toBe('DB_PASSWORD 400 file-db-password\nenv file-db-password\n');
    const plain = run(dir, { DB_PASSWORD_FILE: join(dir, 'db-password') });
    expect(plain.stdout).toBe('DB_PASSWORD 400 file-db-password\nenv unset\n');
  });

  it('refuses a missing file, Vault without an address, and a folder that is not a tmpfs', () => {
    expectRefused(run(dir, { DB_PASSWORD_FILE: join(dir, 'nope') }), /DB_PASSWORD_FILE names .*nope, which is missing or not readable/);
    expectRefused(run(dir, { API_KEY_VAULT: 'secret/app#api_key' }), /NAME_VAULT needs VAULT_ADDR/);
    const onDisk = spawnSync('sh', [SCRIPT, 'true'], { env: { PATH: process.env.PATH!, SECRETS_DIR: dir }, encoding: 'utf8' });
    expect(onDisk.status).toBe(78);
    expect(onDisk.stderr).toMatch(/is not a tmpfs/);
  });

  it('runs in a container of the offline base image (busybox sh) as uid 10001, into a tmpfs', () => {
    const image = ensureScriptedImage();
    const out = execFileSync(
      'docker',
      [
        'run',
        '--rm',
        '--network',
        'none',
        '--read-only',
        '--user',
        '10001:10001',
        '--tmpfs',
        '/run/app-secrets:rw,noexec,nosuid,size=1m',
        '-v',
        `${SCRIPT}:/usr/local/bin/secrets-init.sh:ro`,
        '-v',
        `${join(dir, 'db-password')}:/run/secrets/db_password:ro`,
        '-e',
        'DB_PASSWORD_FILE=/run/secrets/db_password',
        '-e',
        'SECRETS_INIT_EXPORT=1',
        '--entrypoint',
        '/usr/local/bin/secrets-init.sh',
        image,
        'sh',
        '-c',
        SHOW,
      ],
      { encoding: 'utf8' },
    );
    expect(out).toBe('DB_PASSWORD 400 file-db-password\nenv file-db-password\n');
  });
});

describe('docker/secrets-init.sh with Vault', () => {
  let dir: string;
  let vault: DevVault;
  let tokenFile: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'secrets-init-vault-'));
    vault = await startDevVault();
    await vault.api('POST', 'secret/data/app', { data: { api_key: 'vault-api-key-value' } });
    tokenFile = join(dir, 'vault-token');
    writeFileSync(tokenFile, `${vault.rootToken}\n`);
  });
  afterAll(async () => {
    await vault?.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  const fromVault = (ref: string) => ({ API_KEY_VAULT: ref, VAULT_ADDR: vault.address, VAULT_TOKEN_FILE: tokenFile });

  it('reads a KV v2 field with curl and the token file, and never shows the token', () => {
    const r = run(dir, { ...fromVault('secret/app#api_key'), SECRETS_INIT_EXPORT: '1' });
    expect(r.status).toBe(0);
    expect(r.stdout).toBe('API_KEY 400 vault-api-key-value\nenv unset\n');
    expect(r.stderr + r.stdout).not.toContain(vault.rootToken);
  });

  it('refuses a missing field, a missing path and a malformed reference, naming each', () => {
    expectRefused(run(dir, fromVault('secret/app#nofield')), /API_KEY_VAULT: Vault secret secret\/app has no string field "nofield"/);
    expectRefused(run(dir, fromVault('secret/missing#k')), /API_KEY_VAULT: cannot read secret\/missing from http:\/\/127\.0\.0\.1:\d+: .*404/);
    expectRefused(run(dir, fromVault('no-field-here')), /API_KEY_VAULT is no-field-here; expected MOUNT\/PATH#FIELD/);
  });
});
