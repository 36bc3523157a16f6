/**
 * Turns scenario results into Markdown tables (readable in a terminal, pasteable into
 * docs/benchmarks.md) and checks them against the targets from the issue, saying plainly which
 * are met.
 */
import type { LevelResult, ScenarioResult } from './scenario';

/** Targets from the issue: the gateway may add at most this much to the median call... */
export const ADDED_P50_TARGET_MS = 0.2;
/** ...and must keep at least this share of direct throughput at the highest concurrency. */
export const THROUGHPUT_TARGET = 0.6;

export function topology(result: ScenarioResult, clients = 'N'): string {
  if (result.spec.transport === 'http') {
    return `direct: ${clients} SDK clients → the upstream's /mcp (one session each). gateway: ${clients} SDK clients → gateway /mcp → one shared upstream session.`;
  }
  return (
    `direct: each of ${clients} SDK clients spawns its own upstream process over stdio (a stdio server serves one client). ` +
    `gateway: ${clients} SDK clients over Streamable HTTP → gateway → one upstream process (shared mode). ` +
    'Not like-for-like: the gateway path adds an HTTP hop that direct stdio does not have, and funnels every client into one process.'
  );
}

export function scenarioTable(result: ScenarioResult): string {
  const title = `${result.spec.upstream.label} over ${result.spec.transport === 'http' ? 'Streamable HTTP' : 'stdio'} (${result.spec.id})`;
  const header =
    '| clients | direct p50 | direct p99 | direct calls/s | gateway p50 | gateway p99 | gateway calls/s | added p50 | gateway/direct calls/s (per-round range) | gateway CPU/call |\n' +
    '|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|';
  const rows = result.levels.map(
    (l) =>
      `| ${l.clients} | ${ms(l.direct.p50Ms)} | ${ms(l.direct.p99Ms)} | ${rate(l.direct.callsPerSec)} | ${ms(l.gateway.p50Ms)} | ${ms(l.gateway.p99Ms)} | ` +
      `${rate(l.gateway.callsPerSec)} | ${signedMs(addedP50(l))} | ${pct(ratio(l))} (${pct(Math.min(...l.roundRatios))}–${pct(Math.max(...l.roundRatios))}) | ${Math.round(l.gatewayCpuUsPerCall)} µs |`,
  );
  const calls = result.levels.map((l) => `${l.clients} client(s): ${l.direct.calls} direct / ${l.gateway.calls} gateway calls`).join('; ');
  return [`### ${title}`, '', topology(result), '', header, ...rows, '', `Measured ${calls}.`, '', ...verdicts(result).map((v) => `- ${v}`)].join('\n');
}

/** One line per target, with the figure and MET / NOT MET. */
export function verdicts(result: ScenarioResult): string[] {
  const top = highest(result);
  const latency = result.levels.map((l) => `${l.clients} client(s) ${signedMs(addedP50(l))} ${met(addedP50(l) <= ADDED_P50_TARGET_MS)}`).join('; ');
  return [
    `target added p50 <= ${ADDED_P50_TARGET_MS} ms: ${latency}`,
    `target gateway throughput >= ${pct(THROUGHPUT_TARGET)} of direct at ${top.clients} clients: ${pct(ratio(top))} ${met(ratio(top) >= THROUGHPUT_TARGET)}`,
  ];
}

export function summaryTable(results: ScenarioResult[]): string {
  const lowest = (r: ScenarioResult) => r.levels.reduce((a, b) => (b.clients < a.clients ? b : a));
  const rows = results.map((r) => {
    const one = lowest(r);
    const top = highest(r);
    return `| ${r.spec.id} | ${signedMs(addedP50(one))} ${met(addedP50(one) <= ADDED_P50_TARGET_MS)} | ${signedMs(addedP50(top))} ${met(addedP50(top) <= ADDED_P50_TARGET_MS)} | ${pct(ratio(top))} ${met(ratio(top) >= THROUGHPUT_TARGET)} |`;
  });
  const clients = results[0] ? [lowest(results[0]).clients, highest(results[0]).clients] : [1, 32];
  return [
    `| scenario | added p50, ${clients[0]} client (<= ${ADDED_P50_TARGET_MS} ms) | added p50, ${clients[1]} clients (<= ${ADDED_P50_TARGET_MS} ms) | gateway/direct calls/s, ${clients[1]} clients (>= ${pct(THROUGHPUT_TARGET)}) |`,
    '|---|--:|--:|--:|',
    ...rows,
  ].join('\n');
}

function highest(result: ScenarioResult): LevelResult {
  return result.levels.reduce((a, b) => (b.clients > a.clients ? b : a));
}

function addedP50(l: LevelResult): number {
  return l.gateway.p50Ms - l.direct.p50Ms;
}

function ratio(l: LevelResult): number {
  return l.gateway.callsPerSec / l.direct.callsPerSec;
}

function met(ok: boolean): string {
  return ok ? 'MET' : 'NOT MET';
}

function ms(v: number): string {
  return `${v.toFixed(3)} ms`;
}

function signedMs(v: number): string {
  return `${v >= 0 ? '+' : '−'}${Math.abs(v).toFixed(3)} ms`;
}

function rate(v: number): string {
  return Math.round(v).toLocaleString('en-US');
}

function pct(v: number): string {
  return `${Math.round(v * 100)}%`;
}
