/**
 * A docker server's env entry that holds a secret reaches its container as a file, never as an
 * environment variable of the container (real engine): `docker inspect` shows only NAME_FILE, the
 * server inside still gets the value (through docker/secrets-init.sh as the image's entrypoint),
 * a rotated secret file restarts that container with the new value while the client session
 * stays, and the host copy of the secret goes with the container.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Writable } from 'node:stream';
import { connectGateway, type GatewayConnection } from '../../gateway/client/connect';
import { resolveConfig, type LoadedConfig } from '../../gateway/config/load';
import { startGateway, type RunningGateway } from '../../gateway/gateway';
import { createLogger } from '../../gateway/log';
import { containersOf, docker, ensureScriptedImage, waitForNoContainers } from '../helpers/docker';
import { newMarker } from '../helpers/gateway';
import { waitFor } from '../helpers/wait';
import { testSecret } from '../helpers/secret-values';

jest.setTimeout(180_000);

const IMAGE = 'mcp-fleet-test/scripted-secrets:local';
const FIRST = testSecret('container-secret-first-0123');
const SECOND = testSecret('container-secret-second-4567');

/** The scripted server behind docker/secrets-init.sh, exporting what it finds to the server's env. */
function ensureSecretsImage(): string {
  const base = ensureScriptedImage();
  const dir = mkdtempSync(join(tmpdir(), 'mcp-fleet-img-'));
  try {
    execFileSync('cp', [resolve(__dirname, '..', '..', 'docker', 'secrets-init.sh'), join(dir, 'secrets-init.sh')]);
    writeFileSync(
      join(dir, 'Dockerfile'),
      [
        `FROM ${base}`,
        'COPY secrets-init.sh /usr/local/bin/secrets-init.sh',
        'ENV SECRETS_INIT_EXPORT=1',
        'ENTRYPOINT ["/usr/local/bin/secrets-init.sh", "node", "/app/scripted-server.js"]',
        '',
      ].join('\n'),
    );
    execFileSync('docker', ['build', '-q', '-t', IMAGE, dir], { stdio: ['ignore', 'ignore', 'pipe'] });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return IMAGE;
}

describe('secrets in a docker server env', () => {
  const instance = `t-${newMarker().slice(0, 8)}`;
  let dir: string;
  let loaded: LoadedConfig;
  let gw: RunningGateway;
  let conn: GatewayConnection;
  const lines: string[] = [];

  beforeAll(async () => {
    const image = ensureSecretsImage();
    dir = mkdtempSync(join(tmpdir(), 'container-secret-'));
    writeFileSync(join(dir, 'api-token'), `${FIRST}\n`);
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    loaded = await resolveConfig(
      {
        instance,
        listen: '127.0.0.1:0',
        servers: {
          box: {
            docker: {
              image,
              command: ['--tools', 'echo,env'],
              env: { API_TOKEN: `\${secret:file:${dir}/api-token}`, PLAIN: 'visible-value' },
              tmpfs: { '/tmp': 'rw,noexec,nosuid,size=16m', '/run/app-secrets': 'rw,noexec,nosuid,size=1m' },
            },
            restart: { initialDelayMs: 100, maxDelayMs: 1000 },
          },
        },
      },
      'fleet.yaml',
    );
    gw = await startGateway(loaded.config, { log: createLogger('debug', sink) });
    conn = await connectGateway(gw.url!, 'streamable-http');
  });

  afterAll(async () => {
    await conn?.close();
    await gw?.stop();
    loaded?.secrets?.close();
    rmSync(dir, { recursive: true, force: true });
    expect(await waitForNoContainers(instance)).toEqual([]);
  });

  const envOf = async (name: string) => {
    const r = (await conn.client.callTool({ name: 'box__env', arguments: { name } })) as { content: { text: string }[] };
    return r.content[0].text;
  };

  it('gives the server the value while docker inspect shows only the file it came from', async () => {
    expect(await envOf('API_TOKEN')).toBe(FIRST);
    expect(await envOf('PLAIN')).toBe('visible-value');
    const [info] = await containersOf(instance);
    const inspected = await docker.getContainer(info.Id).inspect();
    expect(inspected.Config.Env).toEqual(expect.arrayContaining(['PLAIN=visible-value', 'API_TOKEN_FILE=/run/secrets/API_TOKEN']));
    expect(inspected.Config.Env.some((e) => e.startsWith('API_TOKEN='))).toBe(false);
    expect(inspected.HostConfig.Binds).toEqual([expect.stringMatching(/^\/.+\/API_TOKEN:\/run\/secrets\/API_TOKEN:ro$/)]);
    expect(JSON.stringify(inspected)).not.toContain(FIRST);
  });

  it('restarts only that container when the secret file rotates, and removes the old copy of the secret', async () => {
    const [before] = await containersOf(instance);
    const oldCopy = (await docker.getContainer(before.Id).inspect()).HostConfig.Binds![0].split(':')[0];
    const session = conn.client.transport?.sessionId;
    writeFileSync(join(dir, 'api-token.new'), `${SECOND}\n`);
    renameSync(join(dir, 'api-token.new'), join(dir, 'api-token'));
    await waitFor(async () => (await envOf('API_TOKEN').catch(() => '')) === SECOND, 'the server to run with the rotated secret');
    const after = await containersOf(instance);
    expect(after.map((c) => c.Id)).not.toContain(before.Id);
    expect(existsSync(oldCopy)).toBe(false);
    expect(conn.client.transport?.sessionId).toBe(session);
    expect(JSON.stringify(await docker.getContainer(after[0].Id).inspect())).not.toContain(SECOND);
  });

  it('wrote neither value into a log line', () => {
    const text = lines.join('');
    expect(text).toContain('a secret in its env rotated; restarting the container');
    expect(text).not.toContain(FIRST);
    expect(text).not.toContain(SECOND);
  });
});
