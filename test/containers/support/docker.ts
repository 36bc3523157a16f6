/**
 * The real Docker engine for container tests: the docker CLI, compose projects with unique names
 * (through scripts/docker-compose.sh, which picks compose v2 or v1), and what is left of a project.
 * The tests need the images from `npm run docker:build`; they fail with that instruction otherwise.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { waitFor } from '../../helpers/wait';

const run = promisify(execFile);

/** The checkout: the nearest directory above this file with docker-compose.yml (works from dist/ too). */
export const ROOT = findRoot(__dirname);
export const COMPOSE_SH = resolve(ROOT, 'scripts', 'docker-compose.sh');
export const TAG = process.env.MCP_FLEET_TAG ?? 'dev';
export const GATEWAY_IMAGE = `mcp-fleet/gateway:${TAG}`;
export const SERVER_IMAGE = `mcp-fleet/mcp-server:${TAG}`;
export const TEMPORAL_IMAGE = `mcp-fleet/temporal:${TAG}`;
/** The prod override's load balancer and the store its gateway replicas share. */
export const HAPROXY_IMAGE = `mcp-fleet/haproxy:${TAG}`;
export const REDIS_IMAGE = `mcp-fleet/redis:${TAG}`;
/** Every container a test starts outside compose carries this label, so leftovers can be found. */
export const TEST_LABEL = 'io.mcp-fleet.test';

export interface RunResult {
  stdout: string;
  stderr: string;
  code: number;
}

/** Runs a command; resolves with its output and exit code instead of throwing on failure. */
export async function sh(file: string, args: string[], options: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<RunResult> {
  try {
    const { stdout, stderr } = await run(file, args, {
      cwd: ROOT,
      env: options.env ?? process.env,
      timeout: options.timeoutMs ?? 180_000,
      maxBuffer: 64 * 1024 * 1024,
    });
    return { stdout, stderr, code: 0 };
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; code?: number | string; signal?: string; message: string };
    const stderr = e.stderr || `${e.message}${e.signal ? ` (signal ${e.signal})` : ''}`;
    return { stdout: e.stdout ?? '', stderr, code: typeof e.code === 'number' ? e.code : 1 };
  }
}

/** `docker ARGS`; throws with the command and its stderr when it fails. */
export async function docker(...args: string[]): Promise<string> {
  const r = await sh('docker', args);
  if (r.code !== 0) throw new Error(`docker ${args.join(' ')} failed (exit ${r.code}): ${r.stderr.trim()}`);
  return r.stdout;
}

/** Fails the suite early, with the fix, when the engine or the images are missing. */
export async function requireEngineAndImages(images = [GATEWAY_IMAGE, SERVER_IMAGE, TEMPORAL_IMAGE]): Promise<void> {
  const info = await sh('docker', ['info', '--format', '{{.ServerVersion}}']);
  if (info.code !== 0) throw new Error(`no Docker engine answers (${info.stderr.trim()}); run scripts/ci-docker.sh`);
  for (const image of images) {
    const r = await sh('docker', ['image', 'inspect', image]);
    if (r.code !== 0) throw new Error(`image ${image} is missing; run npm run docker:build first`);
  }
}

/** `docker inspect` output, used field by field as the engine documents it. */
export type Inspect = any;

export async function inspect(id: string): Promise<Inspect> {
  return JSON.parse(await docker('inspect', id))[0];
}

export function uniqueName(prefix: string): string {
  return `${prefix}-${randomBytes(4).toString('hex')}`;
}

/** A compose project with a unique name over the repository's compose files. */
export class ComposeProject {
  readonly name: string;
  private readonly fileArgs: string[];

  constructor(
    files: string[] = ['docker-compose.yml'],
    private readonly env: Record<string, string> = {},
    prefix = 'mcpfleet-test',
  ) {
    this.name = uniqueName(prefix);
    this.fileArgs = files.flatMap((f) => ['-f', resolve(ROOT, f)]);
  }

  /** Runs `compose -p NAME -f ... ARGS` with the project's environment (gateway and Temporal UI on random loopback ports). */
  compose(...args: string[]): Promise<RunResult> {
    return this.composeWithin(180_000, ...args);
  }

  private composeWithin(timeoutMs: number, ...args: string[]): Promise<RunResult> {
    const env = { ...process.env, GATEWAY_PORT: '0', TEMPORAL_UI_PORT: '0', MCP_FLEET_TAG: TAG, ...this.env };
    return sh(COMPOSE_SH, ['-p', this.name, ...this.fileArgs, ...args], { env, timeoutMs });
  }

  /** `up -d`; compose waits there for each `service_healthy` dependency, so a long chain needs a longer `timeoutMs`. */
  async up(timeoutMs = 180_000): Promise<void> {
    const r = await this.composeWithin(timeoutMs, 'up', '-d');
    if (r.code !== 0) throw new Error(`compose up of ${this.name} failed: ${r.stderr.trim()}`);
  }

  /** `down -v` (containers, networks, volumes); throws when compose fails. */
  async down(): Promise<void> {
    const r = await this.compose('down', '-v', '--remove-orphans', '--timeout', '15');
    if (r.code !== 0) throw new Error(`compose down of ${this.name} failed: ${r.stderr.trim()}`);
  }

  /** The published loopback address of the gateway, e.g. 127.0.0.1:49153. */
  gatewayAddress(): Promise<string> {
    return this.published('gateway', 8080);
  }

  /** The loopback address a service publishes for a container port. */
  async published(service: string, port: number): Promise<string> {
    const bindings = (await inspect(await this.container(service))).NetworkSettings.Ports[`${port}/tcp`] as { HostIp: string; HostPort: string }[];
    return `${bindings[0].HostIp}:${bindings[0].HostPort}`;
  }

  /** Ids of the project's containers (all states), optionally of one service. */
  async containers(service?: string): Promise<string[]> {
    const filters = ['--filter', `label=com.docker.compose.project=${this.name}`];
    if (service) filters.push('--filter', `label=com.docker.compose.service=${service}`);
    return (await docker('ps', '-a', '-q', ...filters)).split('\n').filter(Boolean);
  }

  async container(service: string): Promise<string> {
    const [id] = await this.containers(service);
    if (!id) throw new Error(`no container for service ${service} in ${this.name}`);
    return id;
  }

  /** Containers, networks and volumes of the project still present. */
  async leftovers(): Promise<string[]> {
    const label = `label=com.docker.compose.project=${this.name}`;
    const [containers, networks, volumes] = await Promise.all([
      docker('ps', '-a', '-q', '--filter', label),
      docker('network', 'ls', '-q', '--filter', label),
      docker('volume', 'ls', '-q', '--filter', label),
    ]);
    return [...containers.split('\n'), ...networks.split('\n'), ...volumes.split('\n')].filter(Boolean);
  }

  /** Waits until every container of the project reports healthy. */
  async waitHealthy(timeoutMs = 90_000): Promise<void> {
    await waitFor(
      async () => {
        const ids = await this.containers();
        if (ids.length === 0) return false;
        const states = await Promise.all(ids.map(async (id) => (await inspect(id)).State.Health?.Status));
        return states.every((s) => s === 'healthy');
      },
      `the containers of ${this.name} to be healthy`,
      timeoutMs,
    );
  }
}

function findRoot(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'docker-compose.yml')) && existsSync(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) throw new Error(`no checkout with docker-compose.yml above ${from}`);
  }
}
