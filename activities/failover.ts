/**
 * high-availability: kill one replica of a replicated part of the prod stack while several clients
 * call a tool through the gateway in a loop, and report what it cost: calls, failed calls, and the
 * recovery time (until every client's calls succeed again). Two parts can be killed: the
 * filesystem replica that serves the gateway (killReplicaAndMeasureRecovery), and one of the gateway
 * replicas behind haproxy (killGatewayReplicaAndMeasureRecovery).
 */
import type Docker from 'dockerode';
import type { SessionsBody } from '../gateway/admin/api';
import { connectModernGateway } from '../gateway/client/connect-modern';
import { Load, type LoadClient, type LoadFigures } from '../gateway/client/load';
import { safeByAnnotations } from '../gateway/relay/idempotent';
import type { StepInput, StepResult } from '../pipeline/types';
import { AdminApi } from './admin';
import { clientHeaders } from './credentials';
import { docker, execText, projectContainers, SERVICE_LABEL, stackOf } from './engine';
import { connect, needsNoArguments } from './gateway';
import { failure, pause } from './runtime';

/** A call that neither answers nor fails by then counts as failed (the load goes on). */
const CALL_TIMEOUT_MS = 5_000;
/** How long every client may take to have its first answer, before anything is killed. */
const WARM_UP_MS = 15_000;

/** What both kills take from params. */
interface LoadPlan {
  clients: number;
  timeoutMs: number;
  settleMs: number;
  maxFailedCalls: number | undefined;
}

/**
 * params.clients (default 4) sessions call in a loop; params.timeoutSec (default 60) bounds the
 * recovery; params.settleSec (default 5): the load runs at least this long after the kill, so that
 * failures that come late (a dead upstream noticed at the next health check) are counted;
 * params.maxFailedCalls: more failed calls fail the step (default: any number, reported only).
 */
function loadPlan(input: StepInput, defaultMaxFailed?: number): LoadPlan {
  const clients = Number(input.params.clients ?? 4);
  if (!Number.isInteger(clients) || clients < 1) throw failure('BAD_INPUT', `params.clients must be a positive integer (got ${String(input.params.clients)})`);
  const max = input.params.maxFailedCalls ?? defaultMaxFailed;
  return {
    clients,
    timeoutMs: Number(input.params.timeoutSec ?? 60) * 1000,
    settleMs: Number(input.params.settleSec ?? 5) * 1000,
    maxFailedCalls: max === undefined ? undefined : Number(max),
  };
}

/**
 * params.service (default filesystem, which the prod override runs twice), params.tool (default
 * the service's first tool without required arguments), and the load's params (loadPlan). Fails
 * when the service has fewer than two running replicas, or the calls do not recover in time.
 * params.maxFailedCalls defaults to 0 when the tool is one the gateway retries on another backend
 * (annotated readOnlyHint or idempotentHint): the prod stack's gateway has every filesystem replica
 * as a backend (a DNS replica set with retries), so losing one must fail no such call. For any
 * other tool there is no default (reported only): calls in flight on the killed replica fail.
 */
export async function killReplicaAndMeasureRecovery(input: StepInput): Promise<StepResult> {
  const { project } = stackOf(input);
  const service = String(input.params.service ?? 'filesystem');
  const { clients: count } = loadPlan(input);
  const replicas = (await projectContainers(project, service)).filter((c) => c.State === 'running');
  if (replicas.length < 2) {
    return {
      outcome: 'failed',
      summary: `${service} in ${project} has ${replicas.length} running replica(s); killing one needs at least 2 (deploy with the prod override: params.override 'prod')`,
      details: { project, service, replicas: replicas.length },
    };
  }
  const api = await AdminApi.of(input);
  const sessions: Awaited<ReturnType<typeof connect>>[] = [];
  try {
    for (let i = 0; i < count; i++) sessions.push(await connect(api.base, 'streamable-http', `mcp-fleet-failover-${i}`));
    const { name: tool, retried } = await toolOf(api, sessions[0].client, service, input.params.tool);
    const plan = loadPlan(input, retried ? 0 : undefined);
    const clients = sessions.map((s) => ({ call: () => s.client.callTool({ name: tool, arguments: {} }, undefined, { timeout: CALL_TIMEOUT_MS }) }));
    const { victim, how } = await servingReplica(replicas);
    return await killUnderLoad(clients, plan, {
      tool,
      victim,
      what: `${containerName(victim)} (1 of ${replicas.length} ${service} replicas)`,
      details: { project, service, tool, retriedByGateway: retried, chosenBy: how, replicas: replicas.length },
    });
  } finally {
    await Promise.all(sessions.map((s) => s.close()));
  }
}

/** The clientInfo name prefix of the gateway kill's clients, by which the replicas' session lists show them. */
const LOAD_CLIENT = 'mcp-fleet-gateway-failover';

/**
 * On the prod stack: kill one of the gateway replicas behind haproxy (compose services gateway-N;
 * the one holding most of the load's 2025 sessions) with load running through the published port: half the clients 2025 sessions
 * (the killed replica's resume on the other from the shared redis store), half 2026-07-28
 * stateless clients (their requests go to the other replica). params.service and params.tool pick
 * the tool as for killReplicaAndMeasureRecovery, preferring one that haproxy may run again on the
 * other replica (listed in its mcp-idempotent-tools.lst), with the same load params.
 * params.maxFailedCalls defaults to 0 for such a tool: haproxy sends a call whose replica died to
 * the other one. For any other tool a call in flight on the killed replica fails (it may have run,
 * so it is not repeated), at most one per client: the default is then the number of clients.
 * Fails when the stack has fewer than two running gateway replicas, when the calls do not recover
 * in time, or when more than maxFailedCalls failed.
 */
export async function killGatewayReplicaAndMeasureRecovery(input: StepInput): Promise<StepResult> {
  const { project } = stackOf(input);
  const service = String(input.params.service ?? 'filesystem');
  const replicas = (await projectContainers(project))
    .filter((c) => c.State === 'running' && /^gateway-\d+$/.test(c.Labels[SERVICE_LABEL] ?? ''))
    .sort((a, b) => a.Labels[SERVICE_LABEL].localeCompare(b.Labels[SERVICE_LABEL]));
  if (replicas.length < 2) {
    return {
      outcome: 'failed',
      summary: `${project} has ${replicas.length} running gateway replica(s) (services gateway-N); killing one needs at least 2 behind the load balancer (deploy with the prod override: params.override 'prod')`,
      details: { project, replicas: replicas.length },
    };
  }
  const api = await AdminApi.of(input);
  const repeatable = await balancerRepeats(project);
  const closers: (() => Promise<unknown>)[] = [];
  try {
    const count = loadPlan(input).clients;
    const legacy = Math.ceil(count / 2);
    const clients: LoadClient[] = [];
    let tool = '';
    for (let i = 0; i < legacy; i++) {
      const s = await connect(api.base, 'streamable-http', `${LOAD_CLIENT}-${i}`);
      closers.push(s.close);
      tool ||= (await toolOf(api, s.client, service, input.params.tool, repeatable)).name;
      clients.push({ call: () => s.client.callTool({ name: tool, arguments: {} }, undefined, { timeout: CALL_TIMEOUT_MS }) });
    }
    for (let i = legacy; i < count; i++) {
      const m = await connectModernGateway(api.base, { name: `${LOAD_CLIENT}-${i}`, headers: clientHeaders() });
      closers.push(() => m.close().catch(() => {}));
      clients.push({ call: () => m.client.callTool({ name: tool, arguments: {} }, { timeout: CALL_TIMEOUT_MS }) });
    }
    const repeatedByBalancer = repeatable.has(tool);
    const plan = loadPlan(input, repeatedByBalancer ? 0 : count);
    const { victim, sessionsOnKilled } = await sessionHolder(replicas, LOAD_CLIENT);
    return await killUnderLoad(clients, plan, {
      tool,
      victim,
      what: `${containerName(victim)} (1 of ${replicas.length} gateway replicas behind ${api.base})`,
      details: { project, tool, repeatedByBalancer, replicas: replicas.length, sessions: legacy, stateless: plan.clients - legacy, sessionsOnKilled },
    });
  } finally {
    await Promise.all(closers.map((close) => close()));
  }
}

type ListedTool = { name: string; inputSchema: { required?: string[] }; annotations?: unknown };

/**
 * params.tool, else the first tool of `service` the gateway offers that needs no arguments, one in
 * `preferred` if any is; and whether the gateway retries it on another backend (its annotations).
 */
async function toolOf(
  api: AdminApi,
  client: { listTools(): Promise<{ tools: ListedTool[] }> },
  service: string,
  param: unknown,
  preferred: ReadonlySet<string> = new Set(),
): Promise<{ name: string; retried: boolean }> {
  const { tools } = await client.listTools();
  const retried = (name: string) => safeByAnnotations(tools.find((t) => t.name === name)?.annotations);
  if (param !== undefined) return { name: String(param), retried: retried(String(param)) };
  const exposed = new Set((await api.server(service)).tools);
  const candidates = tools.filter((t) => exposed.has(t.name) && needsNoArguments(t)).map((t) => t.name);
  const name = candidates.find((t) => preferred.has(t)) ?? candidates[0];
  if (!name) throw failure('BAD_INPUT', `the gateway offers no tool of ${service} without required arguments; pass params.tool`);
  return { name, retried: retried(name) };
}

/** Where the prod stack's haproxy (service `gateway`, mcp-fleet/haproxy) keeps the tools it may run twice. */
const BALANCER_REPEATS_FILE = '/usr/local/etc/haproxy/mcp-idempotent-tools.lst';

/** The tools the stack's load balancer may send again to another replica (haproxy/mcp-idempotent-tools.lst as deployed); none if it has no such list. */
async function balancerRepeats(project: string): Promise<Set<string>> {
  const [lb] = (await projectContainers(project, 'gateway')).filter((c) => c.State === 'running');
  if (!lb) return new Set();
  const text = await execText(lb.Id, ['cat', BALANCER_REPEATS_FILE]).catch(() => '');
  return /No such file/.test(text) ? new Set() : new Set(listedTools(text));
}

/** The names of a haproxy pattern file such as mcp-idempotent-tools.lst: one per line, `#` comments and blank lines skipped. */
export function listedTools(text: string): string[] {
  return text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
}

interface Kill {
  tool: string;
  /** The container killed (SIGKILL). */
  victim: Docker.ContainerInfo;
  /** What is killed, for the summary. */
  what: string;
  details: Record<string, unknown>;
}

function containerName(c: Docker.ContainerInfo): string {
  return c.Names[0].replace(/^\//, '');
}

/**
 * Starts the load, and once every client has had a success, kills; then waits until every client
 * has recovered (and at least plan.settleMs), or plan.timeoutMs passed.
 */
async function killUnderLoad(clients: LoadClient[], plan: LoadPlan, k: Kill): Promise<StepResult> {
  const load = new Load(clients);
  let killedAt: number | undefined;
  try {
    const started = performance.now();
    while (!load.recovered(started)) {
      if (performance.now() - started > WARM_UP_MS) break;
      await pause(100, `waiting for every client's first ${k.tool} answer`);
    }
    if (load.recovered(started)) {
      killedAt = performance.now();
      await (await docker()).getContainer(k.victim.Id).kill({ signal: 'SIGKILL' });
      for (;;) {
        const elapsed = performance.now() - killedAt;
        if ((elapsed >= plan.settleMs && load.recovered(killedAt)) || elapsed > plan.timeoutMs) break;
        await pause(200, `${k.tool} under load after killing ${k.what}: ${load.figures(killedAt).failedCalls} failed so far`);
      }
    }
  } finally {
    await load.stop();
  }
  if (killedAt === undefined) {
    const f = load.figures(0);
    return {
      outcome: 'failed',
      summary: `${k.tool} did not answer every client within ${WARM_UP_MS / 1000} s, before anything was killed (${f.failedCalls} of ${f.calls} calls failed: ${f.errors.join('; ')}); fix the stack first`,
      details: { ...k.details, ...figureDetails(f) },
    };
  }
  return verdict(load.figures(killedAt), plan, k);
}

/** The figures as a step reports them (details of a run's history: no per-call records). */
function figureDetails(f: LoadFigures): Record<string, unknown> {
  return {
    clients: f.perClient.length,
    calls: f.calls,
    failedCalls: f.failedCalls,
    recoveryMs: f.recoveryMs,
    lastFailureMs: f.lastFailureMs,
    perClient: f.perClient,
    errors: f.errors,
  };
}

function verdict(f: LoadFigures, plan: LoadPlan, k: Kill): StepResult {
  const details = {
    ...k.details,
    killed: containerName(k.victim),
    ...figureDetails(f),
    ...(plan.maxFailedCalls === undefined ? {} : { maxFailedCalls: plan.maxFailedCalls }),
  };
  const cost = `${f.failedCalls} of ${f.calls} calls from ${f.perClient.length} clients failed`;
  if (f.recoveryMs === undefined) {
    return {
      outcome: 'failed',
      summary: `killed ${k.what}; ${k.tool} did not answer every client again within ${plan.timeoutMs / 1000} s (${cost}: ${f.errors.join('; ')}); check the gateway's reconnect settings and the other replicas`,
      details,
    };
  }
  if (plan.maxFailedCalls !== undefined && f.failedCalls > plan.maxFailedCalls) {
    return {
      outcome: 'failed',
      summary: `killed ${k.what}; ${cost}, more than params.maxFailedCalls ${plan.maxFailedCalls} (${f.errors.join('; ')}); recovered after ${f.recoveryMs} ms`,
      details,
    };
  }
  return { outcome: 'passed', summary: `killed ${k.what}; ${cost}; every client answered again after ${f.recoveryMs} ms`, details };
}

/** The replica with an established connection on its MCP port (8080 = 1F90 in /proc/net/tcp); else the first. */
async function servingReplica(replicas: Docker.ContainerInfo[]): Promise<{ victim: Docker.ContainerInfo; how: string }> {
  for (const replica of replicas) {
    const table = await execText(replica.Id, ['cat', '/proc/net/tcp', '/proc/net/tcp6']).catch(() => '');
    const established = table.split('\n').some((line) => {
      const cols = line.trim().split(/\s+/);
      return cols[1]?.endsWith(':1F90') && cols[3] === '01';
    });
    if (established) return { victim: replica, how: 'established connection on port 8080' };
  }
  return { victim: replicas[0], how: 'first replica (no established connection seen)' };
}

/**
 * The replica holding most of the sessions whose client name starts with `prefix`, asked through
 * each replica's own admin API (inside its container: behind haproxy, /admin/sessions reaches one
 * of them); the first replica when none answers.
 */
async function sessionHolder(replicas: Docker.ContainerInfo[], prefix: string): Promise<{ victim: Docker.ContainerInfo; sessionsOnKilled: number }> {
  const script = `fetch('http://127.0.0.1:8080/admin/sessions?limit=1000', { headers: { authorization: 'Bearer ' + require('fs').readFileSync(process.env.ADMIN_TOKEN_FILE, 'utf8').trim() } }).then((r) => r.text()).then((t) => process.stdout.write(t))`;
  let best = { victim: replicas[0], sessionsOnKilled: 0 };
  for (const replica of replicas) {
    const out = await execText(replica.Id, ['node', '-e', script]).catch(() => '');
    let body: Partial<SessionsBody> = {};
    try {
      body = JSON.parse(out.slice(Math.max(0, out.indexOf('{')))) as Partial<SessionsBody>;
    } catch {
      // no answer from this replica's admin API: it holds none that we know of
    }
    const held = (body.sessions ?? []).filter((s) => s.client.name?.startsWith(prefix)).length;
    if (held > best.sessionsOnKilled) best = { victim: replica, sessionsOnKilled: held };
  }
  return best;
}
