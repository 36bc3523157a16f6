/**
 * Turns scenario results into Markdown tables (readable in a terminal, pasteable into
 * docs/benchmarks.md) and checks them against the targets from the issue, saying plainly which
 * are met. A run with a baseline build gets one row per path and level, and the CPU comparison.
 */
import type { GatewayFigures, LevelResult, ScenarioResult } from './scenario';
import type { Summary } from './stats';

/** Targets from the issue: the gateway may add at most this much to the median call... */
export const ADDED_P50_TARGET_MS = 0.2;
/** ...and must keep at least this share of direct throughput at the highest concurrency... */
export const THROUGHPUT_TARGET = 0.6;
/** ...and, against a baseline build, its CPU per call must not rise. */
export const CPU_RATIO_TARGET = 1;

export function topology(result: ScenarioResult, clients = 'N'): string {
  const modern = hasModern(result)
    ? ` gateway, 2026 clients: ${clients} SDK v2 clients speaking 2026-07-28 (stateless, no session) → the same gateway process and upstream.`
    : '';
  const baseline =
    (hasBaseline(result)
      ? ` baseline gateway: the same as gateway, through the baseline build's gateway process with the same config${result.spec.transport === 'http' ? ' and the same upstream' : ' (and so its own upstream process)'}.`
      : '') + modern;
  if (result.spec.transport === 'http') {
    return `direct: ${clients} SDK clients → the upstream's /mcp (one session each). gateway: ${clients} SDK clients → gateway /mcp → one shared upstream session.${baseline}`;
  }
  return (
    `direct: each of ${clients} SDK clients spawns its own upstream process over stdio (a stdio server serves one client). ` +
    `gateway: ${clients} SDK clients over Streamable HTTP → gateway → one upstream process (shared mode).${baseline} ` +
    'Not like-for-like: the gateway path adds an HTTP hop that direct stdio does not have, and funnels every client into one process.'
  );
}

export function scenarioTable(result: ScenarioResult): string {
  const title = `${result.spec.upstream.label} over ${result.spec.transport === 'http' ? 'Streamable HTTP' : 'stdio'} (${result.spec.id})`;
  const table = hasBaseline(result) || hasModern(result) || hasVariants(result) ? comparisonTable(result.levels) : gatewayTable(result.levels);
  const calls = result.levels
    .map(
      (l) =>
        `${l.clients} client(s): ${l.direct.calls} direct / ${l.gateway.summary.calls} gateway` +
        `${l.baseline ? ` / ${l.baseline.summary.calls} baseline gateway` : ''}${l.modern ? ` / ${l.modern.summary.calls} gateway with 2026 clients` : ''} calls`,
    )
    .join('; ');
  return [`### ${title}`, '', topology(result), '', ...table, '', `Measured ${calls}.`, '', ...verdicts(result).map((v) => `- ${v}`)].join('\n');
}

/** One row per level: direct and gateway side by side. */
function gatewayTable(levels: LevelResult[]): string[] {
  return [
    '| clients | direct p50 | direct p99 | direct calls/s | gateway p50 | gateway p99 | gateway calls/s | added p50 | gateway/direct calls/s (per-round range) | gateway CPU/call |',
    '|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|',
    ...levels.map(
      (l) =>
        `| ${l.clients} | ${ms(l.direct.p50Ms)} | ${ms(l.direct.p99Ms)} | ${rate(l.direct.callsPerSec)} | ${ms(l.gateway.summary.p50Ms)} | ${ms(l.gateway.summary.p99Ms)} | ` +
        `${rate(l.gateway.summary.callsPerSec)} | ${signedMs(addedP50(l.gateway, l.direct))} | ${shareWithRange(l.gateway, l.direct)} | ${us(l.gateway.cpuUsPerCall)} |`,
    ),
  ];
}

/**
 * One row per level and path (direct, this build's gateway, the baseline's, this gateway with 2026
 * clients, the variants with more config), with a CPU per call ratio: this build's against the
 * baseline's, 2026 clients' against 2025 clients' through the same gateway, and each variant's
 * against the plain gateway's.
 */
function comparisonTable(levels: LevelResult[]): string[] {
  const row = (clients: number, path: string, s: Summary, rest: string[]) =>
    `| ${clients} | ${path} | ${ms(s.p50Ms)} | ${ms(s.p99Ms)} | ${rate(s.callsPerSec)} | ${rest.join(' | ')} |`;
  const gatewayCells = (g: GatewayFigures, direct: Summary) => [signedMs(addedP50(g, direct)), shareWithRange(g, direct), us(g.cpuUsPerCall)];
  return [
    '| clients | path | p50 | p99 | calls/s | added p50 | calls/s vs direct (per-round range) | gateway CPU/call | CPU/call ratio (per-round range) |',
    '|--:|---|--:|--:|--:|--:|--:|--:|--:|',
    ...levels.flatMap((l) => [
      row(l.clients, 'direct', l.direct, ['—', '—', '—', '—']),
      row(l.clients, 'gateway', l.gateway.summary, [...gatewayCells(l.gateway, l.direct), l.baseline ? `${cpuRatioWithRange(l)} vs baseline` : '—']),
      ...(l.baseline ? [row(l.clients, 'baseline gateway', l.baseline.summary, [...gatewayCells(l.baseline, l.direct), '—'])] : []),
      ...(l.modern
        ? [row(l.clients, 'gateway, 2026 clients', l.modern.summary, [...gatewayCells(l.modern, l.direct), `${modernRatioWithRange(l)} vs 2025 clients`])]
        : []),
      ...(l.variants ?? []).map((v) =>
        row(l.clients, v.name, v.figures.summary, [
          ...gatewayCells(v.figures, l.direct),
          `${pairedRatioWithRange(v.figures, v.against ?? l.gateway)} vs ${v.versus}`,
        ]),
      ),
    ]),
  ];
}

/** One line per target, with the figure and MET / NOT MET. */
export function verdicts(result: ScenarioResult): string[] {
  const top = highest(result);
  const latency = result.levels
    .map((l) => `${l.clients} client(s) ${signedMs(addedP50(l.gateway, l.direct))} ${met(addedP50(l.gateway, l.direct) <= ADDED_P50_TARGET_MS)}`)
    .join('; ');
  const lines = [
    `target added p50 <= ${ADDED_P50_TARGET_MS} ms: ${latency}`,
    `target gateway throughput >= ${pct(THROUGHPUT_TARGET)} of direct at ${top.clients} clients: ${pct(share(top.gateway, top.direct))} ${met(share(top.gateway, top.direct) >= THROUGHPUT_TARGET)}`,
  ];
  if (hasBaseline(result)) {
    const cpu = result.levels.map((l) => `${l.clients} client(s) ${cpuRatioWithRange(l)} ${cpuVerdict(l)}`).join('; ');
    lines.push(`target gateway CPU/call <= ${CPU_RATIO_TARGET.toFixed(2)} × the baseline's: ${cpu}`);
  }
  // every level measures the same variants
  for (const { name, cost } of result.levels[0].variants ?? []) {
    const figures = result.levels
      .map((l) => {
        const v = l.variants?.find((x) => x.name === name);
        return v ? `${l.clients} client(s) CPU/call ${pairedRatioWithRange(v.figures, v.against ?? l.gateway)} × ${v.versus}'s` : undefined;
      })
      .filter(Boolean)
      .join('; ');
    const within = result.levels[0].variants?.find((v) => v.name === name)?.within;
    lines.push(within === undefined ? `${name} (no target; what ${cost} costs): ${figures}` : `${name} (what ${cost} costs): ${figures}`);
    if (within !== undefined) lines.push(withinVerdict(result, name, within));
  }
  for (const { name, totals } of result.scrapes ?? []) {
    const { scrapes, failures, spans } = totals;
    lines.push(
      `${name}: ${scrapes} scrapes of /metrics (${failures} failed); spans at the last scrape: ${spans.exported ?? 0} exported, ${spans.failed ?? 0} failed, ${spans.dropped ?? 0} dropped`,
    );
  }
  const backend = result.levels.filter((l) => l.backendCpuUsPerTracedCall !== undefined);
  if (backend.length > 0) {
    const figures = backend.map((l) => `${l.clients} client(s) ${us(l.backendCpuUsPerTracedCall!)}`).join('; ');
    lines.push(
      `tracing backend (Jaeger) CPU per traced call, taken from the cores the gateways and clients share (a backend on its own machine would not): ${figures}`,
    );
  }
  if (hasModern(result)) {
    const modern = result.levels
      .map((l) => `${l.clients} client(s) added p50 ${signedMs(addedP50(l.modern!, l.direct))}, CPU/call ${modernRatioWithRange(l)} × 2025 clients'`)
      .join('; ');
    lines.push(`2026-07-28 clients (no target; what a stateless request costs against a session's): ${modern}`);
  }
  return lines;
}

/**
 * A variant with a target against the plain gateway, level by level: its p50 and p99 over the
 * plain gateway's, its throughput over the plain gateway's, over all rounds and (in brackets) round
 * by round. MET when, over all rounds, neither latency rose nor throughput fell by more than `within`.
 */
function withinVerdict(result: ScenarioResult, name: string, within: number): string {
  const levels = result.levels.map((l) => {
    const variant = l.variants!.find((x) => x.name === name)!;
    const v = variant.figures;
    const g = variant.against ?? l.gateway;
    const of = (pick: (s: Summary) => number) => ({
      all: pick(v.summary) / pick(g.summary),
      rounds: v.roundSummaries.map((s, r) => pick(s) / pick(g.roundSummaries[r])),
    });
    const [p50, p99, calls] = [of((s) => s.p50Ms), of((s) => s.p99Ms), of((s) => s.callsPerSec)];
    const ok = p50.all <= 1 + within && p99.all <= 1 + within && calls.all >= 1 - within;
    const cell = (x: { all: number; rounds: number[] }) => `${ratio(x.all)} (${ratio(Math.min(...x.rounds))}–${ratio(Math.max(...x.rounds))})`;
    return `${l.clients} client(s) p50 ${cell(p50)}, p99 ${cell(p99)}, calls/s ${cell(calls)} ${met(ok)}`;
  });
  const v = result.levels[0].variants!.find((x) => x.name === name)!;
  return `target ${name} within ${pct(within)} of ${v.versus} (p50 and p99 at most ${ratio(1 + within)}×, calls/s at least ${ratio(1 - within)}×): ${levels.join('; ')}`;
}

export function summaryTable(results: ScenarioResult[]): string {
  const lowest = (r: ScenarioResult) => r.levels.reduce((a, b) => (b.clients < a.clients ? b : a));
  const withBaseline = results.length > 0 && results.every(hasBaseline);
  const rows = results.map((r) => {
    const one = lowest(r);
    const top = highest(r);
    const cells = [
      r.spec.id,
      `${signedMs(addedP50(one.gateway, one.direct))} ${met(addedP50(one.gateway, one.direct) <= ADDED_P50_TARGET_MS)}`,
      `${signedMs(addedP50(top.gateway, top.direct))} ${met(addedP50(top.gateway, top.direct) <= ADDED_P50_TARGET_MS)}`,
      `${pct(share(top.gateway, top.direct))} ${met(share(top.gateway, top.direct) >= THROUGHPUT_TARGET)}`,
      ...(withBaseline ? [one, top].map((l) => `${ratio(cpuRatio(l))} ${cpuVerdict(l)}`) : []),
    ];
    return `| ${cells.join(' | ')} |`;
  });
  const clients = results[0] ? [lowest(results[0]).clients, highest(results[0]).clients] : [1, 32];
  const cpuTarget = `(<= ${CPU_RATIO_TARGET.toFixed(2)})`;
  return [
    `| scenario | added p50, ${clients[0]} client (<= ${ADDED_P50_TARGET_MS} ms) | added p50, ${clients[1]} clients (<= ${ADDED_P50_TARGET_MS} ms) | gateway/direct calls/s, ${clients[1]} clients (>= ${pct(THROUGHPUT_TARGET)}) |` +
      (withBaseline ? ` gateway/baseline CPU/call, ${clients[0]} client ${cpuTarget} | gateway/baseline CPU/call, ${clients[1]} clients ${cpuTarget} |` : ''),
    `|---|--:|--:|--:|${withBaseline ? '--:|--:|' : ''}`,
    ...rows,
  ].join('\n');
}

function hasBaseline(result: ScenarioResult): boolean {
  return result.levels.every((l) => l.baseline !== undefined);
}

function hasModern(result: ScenarioResult): boolean {
  return result.levels.every((l) => l.modern !== undefined);
}

function hasVariants(result: ScenarioResult): boolean {
  return result.levels.some((l) => l.variants !== undefined);
}

function highest(result: ScenarioResult): LevelResult {
  return result.levels.reduce((a, b) => (b.clients > a.clients ? b : a));
}

function addedP50(gateway: GatewayFigures, direct: Summary): number {
  return gateway.summary.p50Ms - direct.p50Ms;
}

function share(gateway: GatewayFigures, direct: Summary): number {
  return gateway.summary.callsPerSec / direct.callsPerSec;
}

function shareWithRange(gateway: GatewayFigures, direct: Summary): string {
  return `${pct(share(gateway, direct))} (${pct(Math.min(...gateway.roundRatios))}–${pct(Math.max(...gateway.roundRatios))})`;
}

/** This build's gateway CPU per call over the baseline build's. */
function cpuRatio(l: LevelResult): number {
  return l.gateway.cpuUsPerCall / l.baseline!.cpuUsPerCall;
}

function roundCpuRatios(l: LevelResult): number[] {
  return l.gateway.roundCpuUsPerCall.map((us, r) => us / l.baseline!.roundCpuUsPerCall[r]);
}

function cpuRatioWithRange(l: LevelResult): string {
  const rounds = roundCpuRatios(l);
  return `${ratio(cpuRatio(l))} (${ratio(Math.min(...rounds))}–${ratio(Math.max(...rounds))})`;
}

/** 2026 clients' gateway CPU per call over 2025 clients', through the same gateway process, overall and per round. */
/** `a`'s CPU per call against `b`'s, over all rounds and the range per round (both measured in the same rounds). */
function pairedRatioWithRange(a: GatewayFigures, b: GatewayFigures): string {
  const rounds = a.roundCpuUsPerCall.map((us, r) => us / b.roundCpuUsPerCall[r]);
  return `${ratio(a.cpuUsPerCall / b.cpuUsPerCall)} (${ratio(Math.min(...rounds))}–${ratio(Math.max(...rounds))})`;
}

function modernRatioWithRange(l: LevelResult): string {
  return pairedRatioWithRange(l.modern!, l.gateway);
}

/**
 * MET when the ratio over all rounds is within the target; NOT MET only when every round says it
 * rose, since on a noisy machine a ratio slightly above 1 with rounds on both sides is no finding.
 */
function cpuVerdict(l: LevelResult): string {
  if (cpuRatio(l) <= CPU_RATIO_TARGET) return 'MET';
  return roundCpuRatios(l).every((r) => r > CPU_RATIO_TARGET) ? 'NOT MET' : 'NOT CLEAR (rounds disagree)';
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

function us(v: number): string {
  return `${Math.round(v)} µs`;
}

/** A ratio to two decimals; a round in which a gateway used no measurable CPU (under one clock tick) has none. */
function ratio(v: number): string {
  return Number.isFinite(v) ? v.toFixed(2) : 'n/a';
}
