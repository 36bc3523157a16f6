/**
 * Activities on the compose stack: build the images, check the compose files, bring the stack up
 * and wait until it is healthy, take it down (the compensation of composeUp), and report health.
 * Compose runs through scripts/docker-compose.sh (v2 or v1, and a clear message for a missing
 * image); the engine's state is read through dockerode.
 */
import { existsSync } from 'node:fs';
import { chmod, chown } from 'node:fs/promises';
import { join } from 'node:path';
import { parse } from 'yaml';
import type { StepInput, StepResult } from '../pipeline/types';
import { docker, projectContainers, projectNetworks, projectVolumes, stackOf, type Stack } from './engine';
import { checkoutRoot, failure, pause, runCommand, tail } from './runtime';

/** `compose -p PROJECT -f FILE... ARGS` for the stack, with its environment. */
export function compose(stack: Stack, args: string[], what: string, timeoutMs?: number) {
  const files = stack.files.flatMap((f) => ['-f', f]);
  return runCommand('bash', [`${checkoutRoot()}/scripts/docker-compose.sh`, '-p', stack.project, ...files, ...args], what, {
    env: { ...process.env, ...stack.env },
    timeoutMs,
    progress: composeProgress,
  });
}

/** A compose line worth showing: a container's or network's new state (v2 "Container x  Started", v1 "Creating x ... done"). */
export function composeProgress(line: string): string | undefined {
  const v2 = /^(Container|Network|Volume)\s+(\S+)\s+(\w+)$/.exec(line);
  if (v2) return `${v2[1].toLowerCase()} ${v2[2]} ${v2[3].toLowerCase()}`;
  const v1 = /^(Creating|Starting|Stopping|Removing|Recreating)\s+(\S+)\s+\.\.\.\s*(\w*)/.exec(line);
  return v1 ? `${v1[1].toLowerCase()} ${v1[2]}${v1[3] ? ` ${v1[3]}` : ''}` : undefined;
}

/** docker-build.sh's own log lines ("docker-build: building mcp-fleet/gateway (...) on ..."): which part is under way. */
export function buildProgress(line: string): string | undefined {
  return /^docker-build: (.+)$/.exec(line)?.[1];
}

/** Builds the mcp-fleet images: gateway, mcp-server, temporal (scripts/docker-build.sh), heartbeating; minutes on a cold machine. */
export async function buildImages(input: StepInput): Promise<StepResult> {
  await docker();
  const started = Date.now();
  const r = await runCommand('bash', [`${checkoutRoot()}/scripts/docker-build.sh`], 'building the mcp-fleet images', {
    env: { ...process.env, ...(input.params.baseImage ? { BASE_IMAGE: String(input.params.baseImage) } : {}) },
    timeoutMs: Number(input.params.timeoutSec ?? 1200) * 1000,
    progress: buildProgress,
  });
  if (/neither present nor pullable/.test(r.stderr))
    throw failure('IMAGE_MISSING', `${tail(r.stderr, 2)}; build or load that base image, or unset BASE_IMAGE to use the default`);
  if (/error TS\d+/.test(r.stderr))
    throw failure(
      'BUILD_FAILED',
      `the app does not compile, so no image was built: ${tail(r.stderr)}; fix the errors ('npm run build') and run the phase again`,
    );
  if (r.code !== 0) {
    throw failure(
      'COMMAND_FAILED',
      `scripts/docker-build.sh failed (exit ${r.code}): ${tail(r.stderr)}; run 'npm run docker:build' by hand to see the whole log`,
    );
  }
  const images = (await (await docker()).listImages({ filters: { reference: ['mcp-fleet/*'] } })).flatMap((i) => i.RepoTags ?? []);
  return { outcome: 'passed', summary: `built ${images.length} image tags in ${Math.round((Date.now() - started) / 1000)} s`, details: { images } };
}

/**
 * `compose config` over the stack's files, and every image the resolved config names present
 * locally: the services a profile holds only when that profile is on (COMPOSE_PROFILES), as
 * compose starts them.
 */
export async function validateCompose(input: StepInput): Promise<StepResult> {
  const stack = stackOf(input);
  const r = await compose(stack, ['config'], `resolving the compose files of ${stack.project}`);
  if (r.code !== 0) return { outcome: 'failed', summary: `compose rejects ${stack.files.join(' + ')}: ${tail(r.stderr, 3)}`, details: { stderr: r.stderr } };
  const active = new Set((process.env.COMPOSE_PROFILES ?? '').split(',').filter(Boolean));
  const services = Object.values((parse(r.stdout) as { services?: Record<string, { image?: string; profiles?: string[] }> }).services ?? {});
  const started = services.filter((s) => !s.profiles?.length || s.profiles.some((p) => active.has(p)));
  const images = [...new Set(started.flatMap((s) => (s.image ? [s.image] : [])))].sort();
  const engine = await docker();
  const missing: string[] = [];
  for (const image of images) {
    await engine
      .getImage(image)
      .inspect()
      .catch(() => missing.push(image));
  }
  if (missing.length)
    return {
      outcome: 'failed',
      summary: `compose config is valid, but images are missing: ${missing.join(', ')}; run 'npm run docker:build'`,
      details: { images, missing },
    };
  return { outcome: 'passed', summary: `compose config is valid; ${images.length} images present`, details: { files: stack.files, images } };
}

/**
 * The prod override's TLS secrets (MCP_FLEET_TLS_DIR): when the directory has no server key, as on a
 * dev machine or in CI, the test CA script makes a CA and a certificate for the bridges' service
 * names there. The services run as uid 10001 and read the key through a bind mount.
 */
async function ensureStackCertificates(stack: Stack): Promise<void> {
  const dir = stack.env.MCP_FLEET_TLS_DIR;
  if (dir === undefined || existsSync(join(dir, 'server.key'))) return;
  const r = await runCommand(
    'bash',
    [`${checkoutRoot()}/scripts/gen-test-certs.sh`, dir, 'memory', 'filesystem', 'pipeline'],
    `generating test certificates in ${dir}`,
  );
  if (r.code !== 0) throw failure('INTERNAL', `cannot generate the stack's test certificates in ${dir}: ${tail(r.stderr, 3)}`);
  const key = join(dir, 'server.key');
  if (process.getuid?.() === 0) await chown(key, STACK_UID, STACK_UID);
  else await chmod(key, 0o644);
}

/** The uid the stack's services run as (docker-compose.yml, the images). */
const STACK_UID = 10001;

/**
 * `up -d` for the stack (project = target), then waits until every container is healthy, heartbeating.
 * params.timeoutSec (default 180) bounds `up` and the wait together; a stack that does not turn healthy is `failed`
 * with each container's state (the workflow then runs composeDown). A missing image is fatal.
 */
export async function composeUp(input: StepInput): Promise<StepResult> {
  const stack = stackOf(input);
  await docker();
  await ensureStackCertificates(stack);
  const timeoutMs = Number(input.params.timeoutSec ?? 180) * 1000;
  const deadline = Date.now() + timeoutMs;
  const r = await compose(stack, ['up', '-d', '--remove-orphans'], `bringing up ${stack.project}`, timeoutMs);
  if (r.code !== 0) {
    if (/needs image/.test(r.stderr)) throw failure('IMAGE_MISSING', tail(r.stderr, 3));
    throw failure('COMMAND_FAILED', `compose up of ${stack.project} failed (exit ${r.code}): ${tail(r.stderr)}`);
  }
  for (;;) {
    const health = await stackHealth(stack.project);
    if (health.containers.length > 0 && health.unhealthy.length === 0) {
      return {
        outcome: 'passed',
        summary: `${stack.project} is up: ${health.containers.length} containers healthy`,
        details: { project: stack.project, ...health },
      };
    }
    if (Date.now() > deadline) {
      return {
        outcome: 'failed',
        summary: `${stack.project} did not turn healthy within ${timeoutMs / 1000} s: ${health.unhealthy.map((c) => `${c.name} ${c.state}/${c.health}`).join(', ')}; see 'docker logs' of those containers`,
        details: { project: stack.project, ...health },
      };
    }
    const starting = health.unhealthy.map((c) => `${c.service || c.name} (${c.health === 'none' ? c.state : c.health})`).join(', ');
    await pause(1000, `waiting for ${stack.project} to be healthy: still starting ${starting || 'the containers'}`);
  }
}

/**
 * `down` for the stack, then checks that no container or network of the project is left. Volumes
 * (the memory graph, the files) are kept unless params.removeVolumes is true.
 */
export async function composeDown(input: StepInput): Promise<StepResult> {
  const stack = stackOf(input);
  await docker();
  const removeVolumes = input.params.removeVolumes === true;
  const r = await compose(stack, ['down', '--remove-orphans', '--timeout', '15', ...(removeVolumes ? ['-v'] : [])], `taking down ${stack.project}`);
  if (r.code !== 0) throw failure('COMMAND_FAILED', `compose down of ${stack.project} failed (exit ${r.code}): ${tail(r.stderr)}`);
  const left = [
    ...(await projectContainers(stack.project)).map((c) => `container ${c.Names[0]}`),
    ...(await projectNetworks(stack.project)).map((n) => `network ${n.Name}`),
    ...(removeVolumes ? (await projectVolumes(stack.project)).map((v) => `volume ${v}`) : []),
  ];
  if (left.length) return { outcome: 'failed', summary: `${stack.project} is down, but left: ${left.join(', ')}`, details: { left } };
  return {
    outcome: 'passed',
    summary: `${stack.project} is down${removeVolumes ? ', volumes removed' : ', volumes kept'}`,
    details: { project: stack.project, removeVolumes },
  };
}

/** Every container of the project with its state and health; passed when there is one and all are healthy. */
export async function healthStatus(input: StepInput): Promise<StepResult> {
  const { project } = stackOf(input);
  const health = await stackHealth(project);
  if (health.containers.length === 0)
    return {
      outcome: 'failed',
      summary: `no containers in compose project ${project}; deploy it first (--phase docker-compose --deploy)`,
      details: { project, ...health },
    };
  if (health.unhealthy.length) {
    return {
      outcome: 'failed',
      summary: `${health.unhealthy.length} of ${health.containers.length} containers of ${project} are not healthy: ${health.unhealthy.map((c) => `${c.name} ${c.state}/${c.health}`).join(', ')}`,
      details: { project, ...health },
    };
  }
  return { outcome: 'passed', summary: `${health.containers.length} containers of ${project} healthy`, details: { project, ...health } };
}

interface ContainerHealth {
  name: string;
  service: string;
  state: string;
  health: string;
}

async function stackHealth(project: string): Promise<{ containers: ContainerHealth[]; unhealthy: ContainerHealth[] }> {
  const engine = await docker();
  const containers = await Promise.all(
    (await projectContainers(project)).map(async (c) => {
      const info = await engine.getContainer(c.Id).inspect();
      return {
        name: info.Name.replace(/^\//, ''),
        service: c.Labels['com.docker.compose.service'] ?? '',
        state: info.State.Status,
        health: info.State.Health?.Status ?? 'none',
      };
    }),
  );
  // a container without a HEALTHCHECK counts as healthy while it runs
  const unhealthy = containers.filter((c) => c.state !== 'running' || (c.health !== 'healthy' && c.health !== 'none'));
  return { containers, unhealthy };
}
