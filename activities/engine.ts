/**
 * The Docker engine through dockerode, and the compose project a step works on: its name (from the
 * step's target), its compose files and environment (from the step's params), and its containers
 * and networks, found by compose's own labels.
 */
import { resolve } from 'node:path';
import Docker from 'dockerode';
import type { StepInput } from '../pipeline/types';
import { checkoutRoot, failure } from './runtime';

export const PROJECT_LABEL = 'com.docker.compose.project';
export const SERVICE_LABEL = 'com.docker.compose.service';
export const NETWORK_LABEL = 'com.docker.compose.network';

/** The project a step works on when it names none. */
export const DEFAULT_PROJECT = 'mcp-fleet';

let engine: { client: Docker; host: string | undefined } | undefined;

/**
 * The engine (DOCKER_HOST or the default socket), checked to answer; fatal when it does not. The
 * compose stack's own worker (the `pipeline-worker` service) has no engine on purpose: a mounted Docker
 * socket is root on the host. Its steps that need one fail at once with this message.
 */
export async function docker(): Promise<Docker> {
  // DOCKER_HOST is read when the client is made; a worker told another engine gets a new client
  if (engine?.host !== process.env.DOCKER_HOST) engine = undefined;
  engine ??= { client: new Docker(), host: process.env.DOCKER_HOST };
  try {
    await engine.client.ping();
  } catch (err) {
    engine = undefined;
    const where = process.env.DOCKER_HOST ?? '/var/run/docker.sock';
    throw failure(
      'DOCKER_UNAVAILABLE',
      `the Docker engine is not reachable from this worker (${where}: ${(err as Error).message}); ` +
        'run the step from a worker on a machine with the engine (start one with scripts/ci-docker.sh, or set DOCKER_HOST), ' +
        "or, in the compose stack, give the pipeline-worker service the host's engine with docker-compose.pipeline-engine.yml (root on the host: a deliberate exception)",
    );
  }
  return engine.client;
}

/** A compose stack as the step's input describes it. */
export interface Stack {
  project: string;
  /** Absolute compose file paths, base first. */
  files: string[];
  /** Environment for compose (image tag, published port). */
  env: Record<string, string>;
}

/** Where the prod override's TLS secrets are, as docker-compose.prod.yml defaults MCP_FLEET_TLS_DIR. */
export const DEFAULT_TLS_DIR = '.state/tls';

/**
 * The stack of a step: project = target (default `mcp-fleet`); files = params.files (relative to
 * the checkout), else docker-compose.yml plus the override named by params.override (`dev`|`prod`);
 * params.tag → MCP_FLEET_TAG (prod requires one; default `dev`), params.gatewayPort → GATEWAY_PORT
 * and params.temporalUiPort → TEMPORAL_UI_PORT (0 = any free port); for prod, params.tlsDir (else
 * MCP_FLEET_TLS_DIR, else .state/tls in the checkout) → MCP_FLEET_TLS_DIR.
 */
export function stackOf(input: Pick<StepInput, 'target' | 'params'>): Stack {
  const project = input.target ?? DEFAULT_PROJECT;
  if (!/^[a-z0-9][a-z0-9_-]*$/.test(project)) {
    throw failure('BAD_INPUT', `compose project name must be lowercase letters, digits, '-' or '_' (got '${project}'); pass another --target`);
  }
  const p = input.params;
  const override = p.override as string | undefined;
  if (override !== undefined && override !== 'dev' && override !== 'prod')
    throw failure('BAD_INPUT', `params.override must be 'dev' or 'prod' (got '${override}')`);
  const names = Array.isArray(p.files) ? (p.files as string[]) : ['docker-compose.yml', ...(override ? [`docker-compose.${override}.yml`] : [])];
  const env: Record<string, string> = { MCP_FLEET_TAG: String(p.tag ?? process.env.MCP_FLEET_TAG ?? 'dev') };
  if (p.gatewayPort !== undefined) env.GATEWAY_PORT = String(p.gatewayPort);
  if (p.temporalUiPort !== undefined) env.TEMPORAL_UI_PORT = String(p.temporalUiPort);
  if (override === 'prod') env.MCP_FLEET_TLS_DIR = String(p.tlsDir ?? process.env.MCP_FLEET_TLS_DIR ?? resolve(checkoutRoot(), DEFAULT_TLS_DIR));
  return { project, files: names.map((f) => resolve(checkoutRoot(), f)), env };
}

/** Containers of a project (all states), optionally of one service. */
export async function projectContainers(project: string, service?: string): Promise<Docker.ContainerInfo[]> {
  const label = [`${PROJECT_LABEL}=${project}`, ...(service ? [`${SERVICE_LABEL}=${service}`] : [])];
  return (await docker()).listContainers({ all: true, filters: { label } });
}

export async function projectNetworks(project: string): Promise<Docker.NetworkInspectInfo[]> {
  return (await docker()).listNetworks({ filters: { label: [`${PROJECT_LABEL}=${project}`] } });
}

export async function projectVolumes(project: string): Promise<string[]> {
  const { Volumes } = await (await docker()).listVolumes({ filters: { label: [`${PROJECT_LABEL}=${project}`] } });
  return (Volumes ?? []).map((v) => v.Name);
}

/**
 * The gateway's base URL for a step: params.url; else MCP_FLEET_GATEWAY_URL (a worker inside the
 * compose stack reaches the gateway by service name, e.g. http://gateway:8080); else the loopback
 * port the project's gateway container publishes for 8080, when that container runs; else
 * http://127.0.0.1:8080.
 */
export async function gatewayUrl(input: Pick<StepInput, 'target' | 'params'>): Promise<string> {
  if (typeof input.params.url === 'string') return input.params.url.replace(/\/+$/, '');
  if (process.env.MCP_FLEET_GATEWAY_URL) return process.env.MCP_FLEET_GATEWAY_URL.replace(/\/+$/, '');
  try {
    const published = await publishedUrl(input.target ?? DEFAULT_PROJECT, String(input.params.gatewayService ?? 'gateway'), 8080);
    if (published) return published;
  } catch {
    // no engine: the default address may still answer (a gateway started with `npm run gateway`)
  }
  return 'http://127.0.0.1:8080';
}

/** http://host:port where the running container of the project's service publishes `privatePort`; undefined when none does. */
export async function publishedUrl(project: string, service: string, privatePort: number): Promise<string | undefined> {
  const [c] = await projectContainers(project, service);
  const port = c?.Ports.find((p) => p.PrivatePort === privatePort && p.PublicPort);
  if (c?.State !== 'running' || !port) return undefined;
  return `http://${!port.IP || port.IP === '0.0.0.0' || port.IP === '::' ? '127.0.0.1' : port.IP.includes(':') ? `[${port.IP}]` : port.IP}:${port.PublicPort}`;
}

/** Runs a command in a running container and returns its output (with a TTY: one raw stream). */
export async function execText(containerId: string, cmd: string[]): Promise<string> {
  const exec = await (await docker()).getContainer(containerId).exec({ Cmd: cmd, AttachStdout: true, AttachStderr: true, Tty: true });
  const stream = await exec.start({ hijack: true, stdin: false, Tty: true });
  const chunks: Buffer[] = [];
  await new Promise<void>((resolve, reject) => {
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', resolve);
    stream.on('error', reject);
  });
  return Buffer.concat(chunks).toString('utf8');
}
