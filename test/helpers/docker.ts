/**
 * Docker for tests: a small image of the scripted test server built on the offline base (no
 * registry needed), and queries for the containers a gateway instance owns.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import Docker from 'dockerode';
import { SCRIPTED_JS } from './scripted';

export const docker = new Docker({ socketPath: '/var/run/docker.sock' });
export const SCRIPTED_IMAGE = 'mcp-fleet-test/scripted:local';
const ROOT = resolve(__dirname, '..', '..');

/** Builds the scripted-server image once per machine state (rebuilt when the script changed). */
export function ensureScriptedImage(): string {
  const base = execFileSync('bash', [join(ROOT, 'scripts', 'docker-base.sh')], { encoding: 'utf8' })
    .trim()
    .split('\n')
    .at(-1)!;
  const dir = mkdtempSync(join(tmpdir(), 'mcp-fleet-img-'));
  try {
    copyFileSync(SCRIPTED_JS, join(dir, 'scripted-server.js'));
    writeFileSync(
      join(dir, 'Dockerfile'),
      [`FROM ${base}`, 'COPY scripted-server.js /app/scripted-server.js', 'USER 10001:10001', 'ENTRYPOINT ["node", "/app/scripted-server.js"]', ''].join('\n'),
    );
    execFileSync('docker', ['build', '-q', '-t', SCRIPTED_IMAGE, dir], { stdio: ['ignore', 'ignore', 'pipe'] });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return SCRIPTED_IMAGE;
}

/** Containers (running or not) labelled as owned by gateway instance `instance`. */
export async function containersOf(instance: string): Promise<Docker.ContainerInfo[]> {
  return docker.listContainers({ all: true, filters: { label: [`io.mcp-fleet.gateway=${instance}`] } });
}

export async function waitForNoContainers(instance: string, timeoutMs = 15_000): Promise<Docker.ContainerInfo[]> {
  const deadline = Date.now() + timeoutMs;
  let left = await containersOf(instance);
  while (left.length > 0 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
    left = await containersOf(instance);
  }
  return left;
}

/** Removes every container and network carrying `label=value` (a test's own), then returns what is still there. */
export async function removeLabelled(label: string, value: string): Promise<string[]> {
  const filters = { label: [`${label}=${value}`] };
  for (const c of await docker.listContainers({ all: true, filters }))
    await docker
      .getContainer(c.Id)
      .remove({ force: true })
      .catch(() => {});
  for (const n of await docker.listNetworks({ filters }))
    await docker
      .getNetwork(n.Id)
      .remove()
      .catch(() => {});
  const containers = await docker.listContainers({ all: true, filters });
  const networks = await docker.listNetworks({ filters });
  return [...containers.map((c) => c.Names[0]), ...networks.map((n) => n.Name)];
}
