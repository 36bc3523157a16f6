/**
 * The Engine API create options for an MCP server container: the hardened defaults (no
 * capabilities, no new privileges, read-only root with a tmpfs /tmp, non-root user, memory/CPU/pids
 * limits, an init process, no network) and the labels that tie it to its gateway instance.
 */
import type Docker from 'dockerode';
import type { DockerSettings } from '../config/schema';

export const LABEL = {
  managed: 'io.mcp-fleet.managed',
  instance: 'io.mcp-fleet.gateway',
  server: 'io.mcp-fleet.server',
} as const;

export interface ContainerIdentity {
  instance: string;
  server: string;
}

const NOBODY = '65534:65534';

export async function containerSpec(docker: Docker, settings: DockerSettings, identity: ContainerIdentity): Promise<Docker.ContainerCreateOptions> {
  return {
    Image: settings.image,
    Cmd: settings.command,
    Entrypoint: settings.entrypoint,
    Env: Object.entries(settings.env).map(([k, v]) => `${k}=${v}`),
    WorkingDir: settings.workdir,
    User: settings.user ?? (await nonRootUser(docker, settings.image)),
    Labels: { ...settings.labels, [LABEL.managed]: 'true', [LABEL.instance]: identity.instance, [LABEL.server]: identity.server },
    AttachStdin: true,
    AttachStdout: true,
    AttachStderr: true,
    OpenStdin: true,
    StdinOnce: false,
    Tty: false,
    HostConfig: {
      NetworkMode: settings.network,
      Binds: settings.volumes,
      ReadonlyRootfs: settings.readOnly,
      Tmpfs: settings.tmpfs,
      Memory: toBytes(settings.memory),
      MemorySwap: toBytes(settings.memory), // no swap beyond the memory limit
      NanoCpus: Math.round(settings.cpus * 1e9),
      PidsLimit: settings.pids,
      CapDrop: settings.capDrop,
      CapAdd: settings.capAdd,
      SecurityOpt: settings.noNewPrivileges ? ['no-new-privileges:true'] : [],
      Init: settings.init,
    },
  };
}

/** The image's own user, unless it would run as root: then nobody. An absent image is left to create() to report. */
async function nonRootUser(docker: Docker, image: string): Promise<string> {
  try {
    const info = await docker.getImage(image).inspect();
    const user = info.Config?.User ?? '';
    return user === '' || user === 'root' || user === '0' || user.startsWith('0:') || user.startsWith('root:') ? NOBODY : user;
  } catch {
    return NOBODY;
  }
}

const UNITS: Record<string, number> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 };

export function toBytes(size: number | string): number {
  if (typeof size === 'number') return size;
  const m = /^(\d+(?:\.\d+)?)([kmg]?)b?$/i.exec(size.trim());
  if (!m) throw new Error(`not a size: ${size}`);
  return Math.round(Number(m[1]) * UNITS[m[2].toLowerCase()]);
}
