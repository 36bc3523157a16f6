/**
 * A docker server's env entries that hold secrets reach its container as files, never as
 * environment variables (which `docker inspect` shows to anyone with the Engine API): each value
 * is written to a private host folder (0700, the file 0400 and owned by the container's user when
 * the gateway may chown, else 0444 inside the private folder), bind-mounted read-only at
 * /run/secrets/NAME, and the container gets NAME_FILE=/run/secrets/NAME instead. The mcp-fleet
 * images' entrypoint (and docker/secrets-init.sh) turn NAME_FILE back into NAME inside the
 * container. The folder must be one the Docker engine sees at the same path (a gateway on the
 * engine's host, or `secretsDir` shared with it).
 */
import { chmod, chown, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const CONTAINER_SECRETS_DIR = '/run/secrets';

export interface ContainerSecretFiles {
  binds: string[];
  env: string[];
  /** Removes the host folder; call once the container is gone. */
  remove(): Promise<void>;
}

/** Writes `values` as files for a container that runs as `user` ("uid[:gid]" or a name). */
export async function writeContainerSecrets(values: Readonly<Record<string, string>>, user: string | undefined): Promise<ContainerSecretFiles> {
  const dir = await mkdtemp(join(tmpdir(), 'mcp-fleet-secrets-')); // mkdtemp makes it 0700
  const remove = () => rm(dir, { recursive: true, force: true });
  try {
    const ids = numericIds(user);
    const binds: string[] = [];
    const env: string[] = [];
    for (const [name, value] of Object.entries(values)) {
      const file = join(dir, name);
      await writeFile(file, value, { mode: 0o400 });
      if (!(await chownTo(file, ids))) await chmod(file, 0o444);
      binds.push(`${file}:${CONTAINER_SECRETS_DIR}/${name}:ro`);
      env.push(`${name}_FILE=${CONTAINER_SECRETS_DIR}/${name}`);
    }
    return { binds, env, remove };
  } catch (err) {
    await remove();
    throw err;
  }
}

/** Gives the file to the container's user; false when that user is a name or the gateway may not chown. */
async function chownTo(file: string, ids: { uid: number; gid: number } | undefined): Promise<boolean> {
  if (!ids) return false;
  try {
    await chown(file, ids.uid, ids.gid);
    return true;
  } catch {
    return false;
  }
}

function numericIds(user: string | undefined): { uid: number; gid: number } | undefined {
  const m = /^(\d+)(?::(\d+))?$/.exec(user ?? '');
  if (!m) return undefined;
  return { uid: Number(m[1]), gid: Number(m[2] ?? m[1]) };
}
