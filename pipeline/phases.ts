/**
 * The ten phases of the seed as data: per verb, the steps a run executes, each naming an activity
 * of activities/index.ts. Pure (no I/O), so workflows may import it. Approval gates sit before
 * production or destructive steps; `compensate` names the activity that undoes a step (saga).
 */
import type * as activities from '../activities';
import { FleetError } from '../gateway/protocol/errors';
import { rolloutSteps } from './rollout';
import { PHASES, VERBS, type PhaseDef, type PhaseName, type StepDef, type Verb } from './types';

/** Names of the exported activities; a typo in a step is a compile error. */
export type ActivityName = keyof typeof activities;

function step(
  id: string,
  title: string,
  activity: ActivityName,
  extra: Omit<StepDef, 'id' | 'title' | 'activity' | 'compensate'> & { compensate?: ActivityName } = {},
): StepDef {
  return { id, title, activity, ...extra };
}

const gatewayLive = step('gateway-live', 'Gateway answers /health/liveness', 'gatewayHealth');
const stackHealthy = step('stack-healthy', 'Every container of the stack is healthy', 'healthStatus');
const resolve = step('resolve-servers', 'The gateway lists tools from every configured server', 'resolveServers');
const composeUp = (title: string, approval: string, params?: Record<string, unknown>) =>
  step('compose-up', title, 'composeUp', { approval, compensate: 'composeDown', timeoutSec: 300, ...(params ? { params } : {}) });
const roundTrip = (front: string) =>
  step(`round-trip-${front}`, `SDK client lists and calls a tool over ${front}`, 'mcpRoundTrip', { params: { transports: [front] } });

export const PHASE_DEFS: Record<PhaseName, PhaseDef> = {
  'docker-compose': {
    name: 'docker-compose',
    summary: 'Build the images and run the compose stack, healthy, behind the gateway',
    verbs: {
      validate: [step('validate-compose', 'Compose files resolve and their images exist', 'validateCompose')],
      deploy: [
        step('build-images', 'Build the mcp-fleet images (gateway, mcp-server, temporal)', 'buildImages', { timeoutSec: 1200 }),
        composeUp('Bring the compose stack up and wait until it is healthy', 'Deploy the compose stack (creates or replaces its containers)'),
        stackHealthy,
        gatewayLive,
        roundTrip('streamable-http'),
      ],
    },
  },
  'service-discovery': {
    name: 'service-discovery',
    summary: 'The gateway resolves every configured server, and one registered at runtime',
    verbs: {
      test: [gatewayLive, resolve, step('register-server', 'Register a server through the admin API, resolve and call it, deregister it', 'registerServer')],
    },
  },
  'mcp-transport': {
    name: 'mcp-transport',
    summary: 'MCP over every front of the gateway: Streamable HTTP, HTTP+SSE, WebSocket',
    verbs: {
      implement: [stackHealthy, roundTrip('streamable-http'), roundTrip('sse'), roundTrip('websocket')],
      validate: [gatewayLive, step('round-trip-all', 'SDK client lists and calls a tool over every front', 'mcpRoundTrip')],
    },
  },
  'health-monitoring': {
    name: 'health-monitoring',
    summary: 'The stack deployed with health checks, liveness, metrics and the alert rules in Prometheus',
    verbs: {
      deploy: [
        composeUp('Bring the compose stack up and wait until it is healthy', 'Deploy the compose stack (creates or replaces its containers)'),
        stackHealthy,
        gatewayLive,
        step('metrics', 'Scrape and check the gateway metrics', 'checkMetrics'),
        step('alert-rules', "Prometheus (observability profile) has loaded the gateway's alert rules and scrapes the gateway", 'alertRules', {
          timeoutSec: 120,
        }),
      ],
    },
  },
  'dev-workflow': {
    name: 'dev-workflow',
    summary: 'The dev and prod overrides resolve against the images',
    verbs: {
      optimize: [
        step('validate-dev-compose', 'Compose with the dev override resolves', 'validateCompose', { params: { override: 'dev' } }),
        step('validate-prod-compose', 'Compose with the prod override resolves', 'validateCompose', { params: { override: 'prod' } }),
      ],
    },
  },
  'debugging-tools': {
    name: 'debugging-tools',
    summary: 'What a developer needs to debug the stack: health, logs, tracing, the live debug stream and the admin routes',
    verbs: {
      enhance: [
        stackHealthy,
        gatewayLive,
        step('collect-logs', 'Read every container log and the log volume', 'collectLogs'),
        step('tracing', 'Trace a request through gateway and upstreams', 'requestTracing'),
        step('debug-stream', "The admin debug stream shows the step's own tool call, by its request id and trace", 'debugStreamCall'),
        step('admin-sessions', "The admin sessions route lists the step's own session, and not once it closed", 'sessionsListed'),
        step('admin-inventory', 'The registry, upstreams and health routes answer for every configured server', 'adminInventory'),
      ],
    },
  },
  'high-availability': {
    name: 'high-availability',
    summary: 'The prod stack with replicas survives losing the filesystem replica that serves it, and a gateway replica, under load',
    verbs: {
      configure: [
        composeUp('Bring the prod stack (filesystem × 2) up and wait until it is healthy', 'Deploy the production stack (prod override, replicas)', {
          override: 'prod',
        }),
        stackHealthy,
        step('kill-replica', 'Kill the serving filesystem replica and measure recovery through the gateway', 'killReplicaAndMeasureRecovery', {
          approval: 'Kill a running filesystem replica (SIGKILL)',
          params: { service: 'filesystem' },
          timeoutSec: 120,
        }),
        step(
          'kill-gateway-replica',
          'Kill a gateway replica behind haproxy under load and measure recovery through the load balancer',
          'killGatewayReplicaAndMeasureRecovery',
          {
            approval: 'Kill a running gateway replica (SIGKILL)',
            timeoutSec: 120,
          },
        ),
      ],
    },
  },
  'security-hardening': {
    name: 'security-hardening',
    summary:
      'The stack meets the hardening rules and its network policy; every listener authenticates clients and uses TLS; no secret in a container environment',
    // every check runs even after one fails, so that one audit names every finding
    verbs: {
      audit: [
        step('inspect-hardening', 'Inspect containers and networks for the hardening rules', 'inspectHardening', { keepGoing: true }),
        step('network-policy', 'The network policy is valid and every compose variant follows it', 'auditNetworkPolicy', { keepGoing: true }),
        step('listener-auth', 'Every gateway listener declares client authentication', 'auditListenerAuth', { keepGoing: true }),
        step('listener-tls', 'Listeners and upstream links between containers use TLS (prod; dev: warnings)', 'auditListenerTls', { keepGoing: true }),
        step('container-secrets', 'No container environment holds a secret as a literal value', 'auditContainerSecrets', { keepGoing: true }),
      ],
    },
  },
  'connection-fabric': {
    name: 'connection-fabric',
    summary: 'Upstream connections of the gateway and their pool',
    verbs: {
      build: [resolve, roundTrip('websocket'), step('pool-statistics', 'Check the upstream connection pool statistics', 'poolStatistics')],
    },
  },
  'service-mesh': {
    name: 'service-mesh',
    summary: 'Routing across upstreams: discovery, weights, and rolling out a new version of a server (canary or blue/green)',
    verbs: {
      integrate: [
        resolve,
        step('routing-weights', 'Every server has a ready backend with weight', 'routingWeights'),
        step('traffic-shift', 'Shift traffic between two backends of a server and check where calls went', 'trafficShift'),
      ],
      deploy: rolloutSteps,
    },
  },
};

/**
 * The steps of (phase, verb) for a run with these params, or a FleetError naming the phases, the
 * phase's verbs, or the bad param.
 */
export function stepsFor(phase: string, verb: string, params: Record<string, unknown> = {}): StepDef[] {
  if (!(PHASES as readonly string[]).includes(phase))
    throw new FleetError('UNKNOWN_PHASE', `unknown phase ${JSON.stringify(phase)}; phases: ${PHASES.join(', ')}`);
  const def = PHASE_DEFS[phase as PhaseName];
  const steps = def.verbs[verb as Verb];
  if (!steps) {
    const known = (VERBS as readonly string[]).includes(verb) ? 'not defined for this phase' : 'unknown verb';
    throw new FleetError(
      'UNKNOWN_VERB',
      `phase ${phase} has no --${verb} (${known}); it has: ${Object.keys(def.verbs)
        .map((v) => `--${v}`)
        .join(' ')}`,
    );
  }
  return typeof steps === 'function' ? steps(params) : steps;
}
