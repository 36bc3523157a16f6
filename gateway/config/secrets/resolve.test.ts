import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FleetError } from '../../protocol/errors';
import { createLogger } from '../../log';
import { capturingLogger } from '../../../test/helpers/log-lines';
import { parseConfig, resolveConfig, type LoadedConfig } from '../load';
import type { RemoteServerConfig, StdioServerConfig } from '../schema';
import { testSecret } from '../../../test/helpers/secret-values';
import { waitFor } from '../../../test/helpers/wait';

function problemsOf(p: Promise<unknown>): Promise<string[]> {
  return p.then(
    () => [],
    (err: unknown) => (err instanceof FleetError ? (err.data?.problems as string[]) : [String(err)]),
  );
}

describe('secret references in the config', () => {
  let dir: string;
  const open: LoadedConfig[] = [];
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'secrets-'));
  });
  afterEach(() => {
    for (const l of open.splice(0)) l.secrets?.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const load = async (doc: unknown, env: NodeJS.ProcessEnv = {}, log = createLogger('silent')) => {
    const loaded = await resolveConfig(doc, 'fleet.yaml', {}, { env, log });
    open.push(loaded);
    return loaded;
  };

  it('resolves env and file references anywhere a string goes, trimming the file newline', async () => {
    writeFileSync(join(dir, 'admin'), testSecret('admin-token-from-file-0123456789-abcdef\n'));
    const { config, secrets } = await load(
      {
        admin: { token: `\${secret:file:${dir}/admin}` },
        stateless: { stateKeys: [{ id: 'k1', secret: '${secret:env:STATE_KEY}' }] },
        servers: {
          gh: { url: 'http://127.0.0.1:1/mcp', headers: { Authorization: 'Bearer ${secret:env:GH_TOKEN}', 'X-Plain': 'p' } },
          local: { command: 'node', env: { API_KEY: '${secret:env:GH_TOKEN}', HOME: '/tmp' } },
        },
      },
      { GH_TOKEN: testSecret('ghp_example_token'), STATE_KEY: testSecret('k'.repeat(40)) },
    );
    expect(secrets).toBeDefined();
    expect(config.admin?.token).toBe('admin-token-from-file-0123456789-abcdef');
    expect(config.stateless.stateKeys[0].secret).toBe('k'.repeat(40));
    const gh = config.servers[0] as RemoteServerConfig;
    expect(gh.headers).toEqual({ Authorization: 'Bearer ghp_example_token', 'X-Plain': 'p' });
    expect(gh.liveHeaders?.current()).toEqual(gh.headers);
    expect([...gh.liveHeaders!.secretKeys]).toEqual(['Authorization']);
    expect((config.servers[1] as StdioServerConfig).liveEnv?.current()).toEqual({ API_KEY: 'ghp_example_token', HOME: '/tmp' });
  });

  it('leaves a config without references as it was, with no store', async () => {
    const { config, secrets } = await load({ servers: { a: { url: 'http://h/mcp', headers: { A: 'b' } } } });
    expect(secrets).toBeUndefined();
    expect((config.servers[0] as RemoteServerConfig).liveHeaders).toBeUndefined();
  });

  it('names the file, the field path and the reference of each one it cannot resolve, never a value', async () => {
    const err = await resolveConfig(
      {
        admin: { token: '${secret:env:MISSING}' },
        servers: {
          github: { url: 'http://h/mcp', headers: { Authorization: `Bearer \${secret:file:${dir}/nope}` } },
          short: { command: 'x', env: { K: '${secret:env:SHORT}' } },
          bad: { command: 'x', args: ['${secret:ldap:x}', '${secret:env:}', '${secret:vault:nomount}'] },
        },
      },
      'fleet.yaml',
      {},
      { env: { SHORT: 'q7' } },
    ).catch((e: unknown) => e as FleetError);
    expect(err).toBeInstanceOf(FleetError);
    const message = (err as FleetError).message;
    expect(message).toMatch(/^invalid config fleet\.yaml:/);
    expect((err as FleetError).data?.problems).toEqual([
      'servers.bad.args.0: ${secret:ldap:x}: unknown secret source "ldap" (use env, file or vault)',
      'servers.bad.args.1: ${secret:env:}: expected ${secret:env:NAME} with a variable name',
      'servers.bad.args.2: ${secret:vault:nomount}: expected ${secret:vault:MOUNT/PATH#FIELD}, e.g. ${secret:vault:secret/github#token}',
    ]);
    // the syntax is checked first; with it right, each unresolvable reference is named
    const problems = await problemsOf(
      resolveConfig(
        {
          admin: { token: '${secret:env:MISSING}' },
          servers: {
            github: { url: 'http://h/mcp', headers: { Authorization: `Bearer \${secret:file:${dir}/nope}` } },
            short: { command: 'x', env: { K: '${secret:env:SHORT}' } },
            vaulted: { command: 'x', env: { K: '${secret:vault:secret/github#token}' } },
          },
        },
        'fleet.yaml',
        {},
        { env: { SHORT: 'q7' } },
      ),
    );
    expect(problems).toEqual([
      'vault: the config uses ${secret:vault:...} references but has no vault: settings (address and auth)',
      'admin.token: cannot resolve ${secret:env:MISSING}: environment variable MISSING is not set',
      `servers.github.headers.Authorization: cannot resolve \${secret:file:${dir}/nope}: cannot read ${dir}/nope: ENOENT`,
      'servers.short.env.K: cannot resolve ${secret:env:SHORT}: a secret value must have at least 4 characters to be kept out of logs (got 2)',
    ]);
    expect(problems.join('\n')).not.toContain('q7');
  });

  it('refuses secrets where docker inspect would show them, and Vault settings from Vault', async () => {
    const problems = await problemsOf(
      load({
        vault: { address: 'http://127.0.0.1:1', auth: { token: '${secret:vault:secret/v#t}' } },
        servers: {
          c: { docker: { image: 'img', command: ['--key', '${secret:env:K}'], labels: { l: '${secret:env:K}' }, env: { 'bad-name': '${secret:env:K}' } } },
        },
      }),
    );
    expect(problems).toEqual([
      "vault.auth.token: vault's own settings cannot come from Vault; use ${secret:env:...} or ${secret:file:...}",
      'servers.c.docker.command.1: a secret in docker.command would show in `docker inspect`; pass it in docker.env (the container gets it as a file)',
      'servers.c.docker.labels.l: a secret in docker.labels would show in `docker inspect`; pass it in docker.env (the container gets it as a file)',
      'servers.c.docker.env.bad-name: a secret env entry needs a variable name (A-Z, 0-9, _): it becomes the file /run/secrets/bad-name',
    ]);
  });

  it('is refused by the synchronous parseConfig, which cannot resolve it', () => {
    expect(() => parseConfig({ servers: { a: { command: 'x', env: { K: '${secret:env:K}' } } } }, 't', {}, { K: 'value' })).toThrow(
      /servers\.a\.env\.K: \$\{secret:\.\.\.\} references are resolved only by the gateway's config loader/,
    );
  });

  it('follows a rotated file (replaced by rename, as compose, swarm and kubernetes do) in the live headers', async () => {
    const file = join(dir, 'token');
    writeFileSync(file, testSecret('first-token-value\n'));
    const { config } = await load({ servers: { gh: { url: 'http://h/mcp', headers: { Authorization: `Bearer \${secret:file:${file}}` } } } });
    const live = (config.servers[0] as RemoteServerConfig).liveHeaders!;
    let told = 0;
    live.onChange(() => told++);
    writeFileSync(join(dir, 'token.new'), testSecret('second-token-value\n'));
    renameSync(join(dir, 'token.new'), file);
    await waitFor(() => live.current().Authorization === 'Bearer second-token-value', 'the rotated file in the headers', 10_000, 20);
    expect(told).toBe(1);
    // the loaded config itself is not changed
    expect((config.servers[0] as RemoteServerConfig).headers.Authorization).toBe('Bearer first-token-value');
  });

  it('keeps every resolved value out of the log lines', async () => {
    const { log, lines } = capturingLogger('info');
    const { config } = await load(
      { servers: { gh: { url: 'http://h/mcp', headers: { Authorization: 'Bearer ${secret:env:T}' } } } },
      { T: 'tok"en-with-quote' },
      log,
    );
    log.info({ headers: (config.servers[0] as RemoteServerConfig).headers, err: new Error('upstream said tok"en-with-quote') }, 'header is tok"en-with-quote');
    const text = lines.join('');
    expect(text).toContain('[secret]');
    expect(text).not.toContain('en-with-quote');
  });
});
