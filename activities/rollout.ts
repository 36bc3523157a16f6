/**
 * service-mesh --deploy (pipeline/rollout.ts): a new version of a gateway server as a new backend,
 * traffic shifted to it through the admin API's weights and judged on the error rate and latency
 * the gateway measured for it; rolled back (compensation) or promoted.
 */
import { toFleetError } from '../gateway/protocol/errors';
import type { StepInput, StepResult } from '../pipeline/types';
import { rolloutParams, versionOf, type RolloutParams } from '../pipeline/rollout';
import { NO_CALLS } from '../gateway/metrics/call-stats';
import { AdminApi } from './admin';
import { connect, needsNoArguments } from './gateway';
import { failure, heartbeat, pause, throwIfCancelled, toApplicationFailure } from './runtime';

/** What add-version records for the later steps and the rollback. */
interface Added {
  server: string;
  version: string;
  /** The weights before the rollout, by backend id. */
  before: Record<string, number>;
}

function params(input: StepInput): RolloutParams {
  try {
    return rolloutParams(input.params);
  } catch (err) {
    throw toApplicationFailure(toFleetError(err));
  }
}

function added(input: StepInput): Added {
  const details = input.previous['add-version']?.details as Added | undefined;
  if (!details?.version) throw failure('BAD_INPUT', 'this step needs the add-version step of the same run before it');
  return details;
}

/** Adds the new version with weight 0 and waits for the gateway to report it ready. */
export async function addRolloutBackend(input: StepInput): Promise<StepResult> {
  const p = params(input);
  const version = versionOf(p, input.runId);
  const api = await AdminApi.of(input);
  const server = await api.server(p.server);
  if (server.backends.some((b) => b.id === version)) {
    throw failure('BAD_INPUT', `${p.server} already has a backend ${version}; pass another --backend-id, or remove it first`);
  }
  const before = Object.fromEntries(server.backends.map((b) => [b.id, b.weight]));
  const backend = await api.addBackend(p.server, { ...p.backend, id: version, weight: 0 });
  const details: Added & Record<string, unknown> = { server: p.server, version, before, tools: backend.tools };
  if (backend.state !== 'ready') {
    await api.removeBackend(p.server, version);
    return {
      outcome: 'failed',
      summary: `${version} of ${p.server} did not become ready (state ${backend.state}); it was removed. See the gateway log for why`,
      details,
    };
  }
  const serving = server.backends.filter((b) => b.weight > 0).map((b) => `${b.id} (${b.tools} tools)`);
  return { outcome: 'passed', summary: `${version} of ${p.server} is ready with ${backend.tools} tools beside ${serving.join(', ') || 'nothing'}`, details };
}

/**
 * Gives the new version params.percent of the traffic (the old backends share the rest in their
 * old proportions), holds it for the bake time while probing, then judges the window's figures.
 */
export async function shiftTraffic(input: StepInput): Promise<StepResult> {
  const p = params(input);
  const { server, version, before } = added(input);
  const percent = Number(input.params.percent);
  if (!(percent > 0 && percent <= 100)) throw failure('BAD_INPUT', `params.percent must be in (0, 100] (got ${input.params.percent})`);
  const api = await AdminApi.of(input);
  const weights = split(before, version, percent);
  await api.setWeights(server, weights);
  const shiftedAt = Date.now();

  const probed = p.probe === false ? undefined : await probe(api, p, server, percent, shiftedAt);
  const left = p.bakeSec * 1000 - (Date.now() - shiftedAt);
  if (left > 0) await pause(left, `holding ${percent} % on ${version}`);

  const stats = await api.stats((Date.now() - shiftedAt) / 1000 + 1);
  const mine = stats.servers[server]?.[version] ?? NO_CALLS;
  const others = Object.entries(stats.servers[server] ?? {}).filter(([id]) => id !== version);
  const details = { server, version, percent, weights, windowSec: stats.windowSec, stats: stats.servers[server] ?? {}, ...(probed ? { probe: probed } : {}) };
  const figures = `${mine.calls} calls, error rate ${pct(mine.errorRate)}, p95 ${ms(mine.p95Ms)}`;
  const baseline = others.length ? `; previous: ${others.map(([id, s]) => `${id} ${s.calls} calls, ${pct(s.errorRate)}, p95 ${ms(s.p95Ms)}`).join('; ')}` : '';

  if (mine.calls < p.minCalls) {
    return {
      outcome: 'failed',
      summary: `${version} got ${mine.calls} calls at ${percent} %, fewer than --min-calls ${p.minCalls} to judge it; send traffic or let the probe run (--probe-tool)`,
      details,
    };
  }
  if (mine.errorRate > p.maxErrorRate) {
    return {
      outcome: 'failed',
      summary: `${version} breached the error rate at ${percent} %: ${pct(mine.errorRate)} > ${pct(p.maxErrorRate)} (${mine.errors} errors, ${mine.toolErrors} tool errors in ${mine.calls} calls)${baseline}`,
      details,
    };
  }
  if (mine.p95Ms !== null && mine.p95Ms > p.maxP95Ms) {
    return { outcome: 'failed', summary: `${version} breached the latency at ${percent} %: p95 ${ms(mine.p95Ms)} > ${p.maxP95Ms} ms${baseline}`, details };
  }
  return { outcome: 'passed', summary: `${percent} % on ${version}: ${figures}${baseline}`, details };
}

/** The new version alone: weight 100, every other backend removed. */
export async function promoteRollout(input: StepInput): Promise<StepResult> {
  const { server, version } = added(input);
  const api = await AdminApi.of(input);
  const current = await api.server(server);
  const old = current.backends.filter((b) => b.id !== version).map((b) => b.id);
  await api.setWeights(server, { [version]: 100, ...Object.fromEntries(old.map((id) => [id, 0])) });
  for (const id of old) await api.removeBackend(server, id);
  return {
    outcome: 'passed',
    summary: `${version} serves all of ${server}; removed ${old.join(', ') || 'nothing'}`,
    details: { server, version, removed: old },
  };
}

/** Compensation of add-version: the old weights back, then the new backend removed. Safe to repeat. */
export async function rollBackRollout(input: StepInput): Promise<StepResult> {
  const { server, version, before } = added(input);
  const api = await AdminApi.of(input);
  const present = new Set((await api.server(server)).backends.map((b) => b.id));
  const restore = Object.fromEntries(Object.entries(before).filter(([id]) => present.has(id)));
  if (Object.values(restore).some((w) => w > 0)) await api.setWeights(server, { ...restore, ...(present.has(version) ? { [version]: 0 } : {}) });
  const removed = await api.removeBackend(server, version);
  return {
    outcome: 'passed',
    summary: `rolled back ${server}: weights ${Object.entries(restore)
      .map(([id, w]) => `${id}=${w}`)
      .join(', ')} restored${removed ? `, ${version} removed` : ''}`,
    details: { server, version, restored: restore, removed },
  };
}

/** `percent` to the new version; the rest shared by the old backends in their old proportions. */
export function split(before: Record<string, number>, version: string, percent: number): Record<string, number> {
  const total = Object.values(before).reduce((a, b) => a + b, 0);
  const rest = 100 - percent;
  const old = Object.fromEntries(Object.entries(before).map(([id, w]) => [id, total > 0 ? Math.round((rest * w * 1000) / total) / 1000 : 0]));
  return { ...old, [version]: percent };
}

/**
 * Synthetic calls through the gateway, paced over the bake time: enough that the new version gets
 * at least minCalls of them at this weight. Per-session servers bind a session to one backend, so
 * each call gets its own session there.
 */
async function probe(
  api: AdminApi,
  p: RolloutParams,
  server: string,
  percent: number,
  since: number,
): Promise<{ tool: string; calls: number; failed: number }> {
  const options = p.probe === false ? {} : p.probe;
  const calls = Math.max(options.calls ?? 20, Math.ceil((p.minCalls * 100) / percent));
  const summary = await api.server(server);
  const perSession = summary.mode === 'per-session';
  let session = await connect(api.base, 'streamable-http', 'mcp-fleet-rollout-probe');
  try {
    const tool = options.tool ?? (await defaultTool(session.client, server, summary.tools));
    const gap = (p.bakeSec * 1000) / calls;
    let failed = 0;
    for (let i = 0; i < calls; i++) {
      throwIfCancelled('the rollout probe');
      if (i % 20 === 0) heartbeat(`probing ${tool}: ${i} of ${calls} calls`);
      const r = await session.client
        .callTool({ name: tool, arguments: options.arguments ?? {} }, undefined, { timeout: Math.max(5_000, p.maxP95Ms * 5) })
        .catch(() => ({ isError: true }));
      if (r.isError) failed += 1;
      if (perSession) {
        await session.close();
        session = await connect(api.base, 'streamable-http', 'mcp-fleet-rollout-probe');
      }
      const due = since + gap * (i + 1) - Date.now();
      if (due > 0) await pause(due, 'pacing the rollout probe');
    }
    return { tool, calls, failed };
  } finally {
    await session.close();
  }
}

/** The first tool of `server` (by the names the gateway reports for it) that needs no arguments. */
async function defaultTool(client: Awaited<ReturnType<typeof connect>>['client'], server: string, exposed: string[]): Promise<string> {
  const names = new Set(exposed);
  const { tools } = await client.listTools();
  const tool = tools.find((t) => names.has(t.name) && needsNoArguments(t));
  if (!tool)
    throw failure(
      'BAD_INPUT',
      `the gateway offers no tool of ${server} without required arguments to probe with; pass --probe-tool (and --probe-args) or --no-probe`,
    );
  return tool.name;
}

const pct = (r: number) => `${(r * 100).toFixed(1)} %`;
const ms = (v: number | null) => (v === null ? 'n/a' : `${Math.round(v)} ms`);
