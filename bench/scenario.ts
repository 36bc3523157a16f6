/**
 * One scenario: one upstream over one transport, measured direct and through the gateway (and,
 * given a baseline build, through that build's gateway too) in the same run. The paths take turns
 * block by block (AB BA…, ABC CBA ACB BCA…), so drift on a noisy machine hits every path alike. Direct HTTP clients share the upstream's endpoint; direct stdio clients each
 * spawn their own upstream process, since a stdio server serves one client. Gateway clients always
 * come over Streamable HTTP to a gateway that holds one shared session with the upstream.
 */
import { join } from 'node:path';
import { closeClients, connectClients, type BenchClient, type Target } from './clients';
import type { Cleanup } from './cleanup';
import { GATEWAY_ECHO_TOOL, startGatewayProcess, type GatewayProcess, type UpstreamEntry } from './gateway-process';
import { runBlock, warmUp, type Block, type BlockLimits } from './load';
import { summarize, type Summary } from './stats';
import { BENCH_API_KEY, startBenchIssuer } from './auth-setup';
import { startHttpUpstream, type UpstreamSpec, type UpstreamTransport } from './upstreams';
import { startScrapeLoop, startTracingBackend, type ScrapeTotals } from './observability';
import { METRICS_PATH } from '../gateway/fronts/management';
import { cpuSeconds } from './processes';
import { sampleValue, scrapeMetrics } from '../test/helpers/metrics';
import { waitFor } from '../test/helpers/wait';

export interface ScenarioSpec {
  id: string;
  upstream: UpstreamSpec;
  transport: UpstreamTransport;
  /** false: the gateway writes no `call` log line per forwarded request (log.calls). */
  callLog?: boolean;
  /**
   * Also measure 2026-07-28 clients (SDK v2, stateless) through this build's gateway, beside its
   * 2025-11-25 clients: the same gateway process and upstream, taking turns with the other paths.
   */
  modernClients?: boolean;
  /** Also measure gateways that authenticate every request (an API key; a bearer JWT), beside the one that does not. */
  auth?: boolean;
  /** Also measure gateways with rate limits that never refuse, and with a concurrency limit that never queues, beside the one without. */
  limits?: boolean;
  /**
   * Measure observability fully on (spans exported to a real Jaeger, /metrics scraped every second,
   * info logging with the per-call line) against off (no tracing, warn logging without call lines)
   * in one gateway process switched between them by hot reloads (toggledPaths), beside a plain
   * gateway with it off, instead of the default gateway.
   */
  observability?: boolean;
}

export interface LevelPlan {
  clients: number;
  warmUp: BlockLimits;
  measure: BlockLimits;
}

export interface Plan {
  levels: LevelPlan[];
  /** Measured blocks per path and level; the paths take turns between blocks. */
  rounds: number;
}

/** What one gateway path measured at one level. */
export interface GatewayFigures {
  summary: Summary;
  /** Gateway process CPU time per call over all its blocks, in microseconds. */
  cpuUsPerCall: number;
  /** The same, per round. */
  roundCpuUsPerCall: number[];
  /** Throughput as a fraction of direct, per round: the spread shows how noisy the run was. */
  roundRatios: number[];
  /** Latency and throughput of each round's block alone, for ratios round by round against another gateway path. */
  roundSummaries: Summary[];
}

export interface LevelResult {
  clients: number;
  direct: Summary;
  gateway: GatewayFigures;
  /** The baseline build's gateway, when the run has one. */
  baseline?: GatewayFigures;
  /** This build's gateway with 2026-07-28 clients, when the scenario asks for them. */
  modern?: GatewayFigures;
  /** This build's gateways with more config (client authentication, limits), when the scenario asks for them. */
  variants?: Variant[];
  /**
   * The observability scenario's tracing backend (Jaeger): its CPU time over all the level's blocks
   * per call of the paths that export spans to it, in microseconds. It runs on the cores the
   * gateways and clients share, which a backend on its own machine would not take from them.
   */
  backendCpuUsPerTracedCall?: number;
}

export interface RunContext {
  cleanup: Cleanup;
  marker: string;
  /** A directory for this run's files (gateway configs), removed at the end. */
  workDir: string;
  profileDir?: string;
  /** Another checkout's built gateway CLI (its dist/gateway/cli.js), measured beside this build's. */
  baselineCli?: string;
  progress(line: string): void;
}

/** A gateway of this build with more config, against the plain one: what it adds, by name, and what that costs. */
export interface Variant {
  name: string;
  /** What the plain gateway lacks, for "× no auth's". */
  versus: string;
  /** What the variant measures the cost of, for the verdict line. */
  cost: string;
  /** The most its p50 and p99 may rise and its throughput fall against the plain gateway's (0.1: 10 %), when it has a target. */
  within?: number;
  figures: GatewayFigures;
  /** What the ratios are against, when not the plain gateway: a path of the same gateway process. */
  against?: GatewayFigures;
}

export interface ScenarioResult {
  spec: ScenarioSpec;
  levels: LevelResult[];
  /** What the observability scenario's scrape loops saw of the gateways they scraped, by path name. */
  scrapes?: { name: string; totals: ScrapeTotals }[];
}

/** Where the baseline gateway's profiles go, below the run's profile directory. */
export const BASELINE_PROFILE_SUBDIR = 'baseline';

/** One way to reach the echo tool; `gateway` is the process whose CPU time the path costs. */
interface MeasuredPath {
  role: 'direct' | 'gateway' | 'baseline' | 'modern' | 'variant';
  name: string;
  /** A variant's comparison (see Variant). */
  versus?: Pick<Variant, 'versus' | 'cost' | 'within'>;
  target: Target;
  tool: string;
  gateway?: GatewayProcess;
  /** The gateway exports its spans to the scenario's tracing backend. */
  traced?: boolean;
  /** Its /metrics is scraped all through the run. */
  scraped?: boolean;
  /** The path a variant's ratios are against, by name, when not the plain gateway. */
  against?: string;
  /** Runs before each of its blocks, outside what the block measures (a reload into its settings). */
  before?: () => Promise<void>;
  /** Runs after each of its blocks, its CPU time counted as the block's (a reload out of them, the last spans sent). */
  after?: () => Promise<void>;
}

/** A process beside the gateways whose CPU time a level measures: the observability scenario's tracing backend. */
interface TracingBackend {
  cpuSeconds(): number;
}

export async function runScenario(spec: ScenarioSpec, plan: Plan, ctx: RunContext): Promise<ScenarioResult> {
  const { cleanup, marker } = ctx;
  let direct: Target;
  let upstreamEntry: UpstreamEntry;
  let stopUpstream = async () => {};
  if (spec.transport === 'http') {
    const upstream = await startHttpUpstream(spec.upstream, marker);
    stopUpstream = cleanup.add(`${spec.id} upstream`, () => upstream.process.stop());
    direct = { kind: 'http', url: upstream.url };
    upstreamEntry = { url: upstream.url, transport: 'streamable-http' };
  } else {
    const args = spec.upstream.args('stdio');
    direct = { kind: 'stdio', command: spec.upstream.command, args, marker };
    upstreamEntry = { command: spec.upstream.command, args };
  }
  const paths: MeasuredPath[] = [{ role: 'direct', name: 'direct', target: direct, tool: 'echo' }];
  const stops: (() => Promise<void>)[] = [stopUpstream];
  const gateways: {
    role: 'gateway' | 'baseline' | 'variant';
    name: string;
    id: string;
    cliJs?: string;
    profileDir?: string;
    versus?: Pick<Variant, 'versus' | 'cost' | 'within'>;
    settings?: Record<string, unknown>;
    serverSettings?: Record<string, unknown>;
    headers?: Record<string, string>;
  }[] = [{ role: 'gateway', name: 'gateway', id: spec.id, profileDir: ctx.profileDir, ...(spec.observability ? { settings: OBSERVABILITY_OFF } : {}) }];
  if (spec.auth) {
    const issuer = await startBenchIssuer();
    stops.push(cleanup.add(`${spec.id} JWT issuer`, () => issuer.stop()));
    const versus = { versus: 'no auth', cost: 'authenticating every request' };
    gateways.push(
      {
        role: 'variant',
        name: 'gateway, API key',
        id: `${spec.id}-api-key`,
        versus,
        settings: { auth: { apiKeys: { keys: [{ name: 'bench', key: BENCH_API_KEY }] } } },
        headers: { authorization: `Bearer ${BENCH_API_KEY}` },
      },
      {
        role: 'variant',
        name: 'gateway, JWT',
        id: `${spec.id}-jwt`,
        versus,
        settings: { auth: issuer.auth },
        headers: { authorization: `Bearer ${issuer.token}` },
      },
    );
  }
  if (spec.limits) gateways.push(...limitVariants(spec.id));
  let backend: TracingBackend | undefined;
  let otlpUrl: string | undefined;
  if (spec.observability) {
    const jaeger = await startTracingBackend();
    stops.push(cleanup.add(`${spec.id} Jaeger`, () => jaeger.close()));
    otlpUrl = jaeger.otlpUrl;
    backend = {
      cpuSeconds: () => {
        if (jaeger.pid === undefined) throw new Error('the tracing backend stopped during the run');
        return cpuSeconds(jaeger.pid);
      },
    };
  }
  if (ctx.baselineCli) {
    const profileDir = ctx.profileDir && join(ctx.profileDir, BASELINE_PROFILE_SUBDIR);
    gateways.push({ role: 'baseline', name: 'baseline gateway', id: `${spec.id}-baseline`, cliJs: ctx.baselineCli, profileDir });
  }
  for (const g of gateways) {
    const gateway = await startGatewayProcess({
      id: g.id,
      upstream: upstreamEntry,
      marker,
      workDir: ctx.workDir,
      cliJs: g.cliJs,
      profileDir: g.profileDir,
      callLog: spec.callLog,
      settings: g.settings,
      serverSettings: g.serverSettings,
      headers: g.headers,
    });
    stops.unshift(cleanup.add(`${spec.id} ${g.name}`, () => gateway.stop()));
    paths.push({
      role: g.role,
      name: g.name,
      versus: g.versus,
      target: { kind: 'http', url: gateway.mcpUrl, headers: g.headers },
      tool: GATEWAY_ECHO_TOOL,
      gateway,
    });
    if (g.role === 'gateway' && spec.modernClients) {
      paths.push({ role: 'modern', name: 'gateway, 2026 clients', target: { kind: 'modern', url: gateway.mcpUrl }, tool: GATEWAY_ECHO_TOOL, gateway });
    }
  }

  if (otlpUrl) {
    const gateway = await startGatewayProcess({
      id: `${spec.id}-toggled`,
      upstream: upstreamEntry,
      marker,
      workDir: ctx.workDir,
      profileDir: ctx.profileDir,
      settings: OBSERVABILITY_OFF,
      reconfigurable: true,
    });
    stops.unshift(cleanup.add(`${spec.id} toggled gateway`, () => gateway.stop()));
    paths.push(...toggledPaths(gateway, spec.id, otlpUrl));
  }

  // Prometheus scrapes all the time, not only while the scraped gateway's blocks run.
  const scrapeLoops = paths.filter((p) => p.scraped).map((p) => ({ name: p.name, loop: startScrapeLoop(p.gateway!.mcpUrl.replace(/\/mcp$/, METRICS_PATH)) }));
  const seen: Pick<ScenarioResult, 'scrapes'> = {};
  const stopScrapes =
    scrapeLoops.length > 0
      ? cleanup.add(`${spec.id} scrape loops`, async () => {
          seen.scrapes = await Promise.all(scrapeLoops.map(async ({ name, loop }) => ({ name, totals: await loop.stop() })));
        })
      : undefined;

  const levels: LevelResult[] = [];
  for (const level of plan.levels) {
    ctx.progress(`${spec.id}: ${level.clients} client(s)`);
    levels.push(await measureLevel(spec, level, plan.rounds, paths, cleanup, backend));
  }
  await stopScrapes?.();
  for (const stop of stops) await stop();
  return { spec, levels, ...seen };
}

/** Observability off: no tracing (the default), no call lines, warn logging (the plain gateway's, and the switched one's between its "on" blocks). */
const OBSERVABILITY_OFF = { log: { level: 'warn', calls: false } };

/**
 * Observability off and on in one gateway process, switched by a hot reload before each block of
 * an "on" path and back after it (the reload out of it and the last spans' export counted as that
 * block's CPU). Two gateway processes doing the same work differ by about 10% in CPU per call on
 * these shared cores, as much as the target's margin; the "off" path against the plain gateway
 * (another process) shows that spread, the others against the "off" one are free of it. The
 * process's /metrics is scraped all the time, so the scrapes (under 1 µs a call) are in both.
 * "on" is every call traced (sampling ratio 1, the default) and exported to the Jaeger at `otlpUrl`
 * in the default batches, and info logging with the call line (to stderr, a pipe the bench reads,
 * as a log shipper or Docker's log driver would); then the same with one trace in ten recorded
 * (samplingRatio 0.1, as a busy fleet would run it), and, to tell which part costs what, the
 * tracing alone and the call line alone.
 */
function toggledPaths(gateway: GatewayProcess, id: string, otlpUrl: string): MeasuredPath[] {
  const target: Target = { kind: 'http', url: gateway.mcpUrl };
  const off = 'one process, observability off';
  const tracing = { enabled: true, endpoint: otlpUrl, serviceName: `bench-${id}` };
  const logging = { level: 'info', calls: true };
  const versus = 'its own observability off';
  const switched = (name: string, cost: string, settings: Record<string, unknown>, within?: number): MeasuredPath => ({
    role: 'variant',
    name,
    versus: { versus, cost, ...(within === undefined ? {} : { within }) },
    against: off,
    target,
    tool: GATEWAY_ECHO_TOOL,
    gateway,
    traced: 'tracing' in settings,
    before: () => gateway.reconfigure(settings),
    after: async () => {
      await gateway.reconfigure(OBSERVABILITY_OFF);
      await spansSent(gateway);
    },
  });
  return [
    {
      role: 'variant',
      name: off,
      versus: { versus: 'the plain gateway', cost: 'being another process with the same settings' },
      target,
      tool: GATEWAY_ECHO_TOOL,
      gateway,
      scraped: true,
    },
    switched('one process, observability on', 'every call traced and logged', { log: logging, tracing }, 0.1),
    switched(
      'one process, on, 1 trace in 10',
      'every call logged, one trace in ten recorded',
      { log: logging, tracing: { ...tracing, samplingRatio: 0.1 } },
      0.1,
    ),
    switched('one process, tracing only', 'tracing every call', { ...OBSERVABILITY_OFF, tracing }),
    switched('one process, call log only', 'the call log line at info', { log: logging }),
  ];
}

/** Once the gateway's ended exports sent what they held (mcp_gateway_trace_spans_pending is 0). */
async function spansSent(gateway: GatewayProcess): Promise<void> {
  const base = { url: gateway.mcpUrl.replace(/\/mcp$/, '') };
  await waitFor(
    async () => (sampleValue(await scrapeMetrics(base), 'mcp_gateway_trace_spans_pending') ?? 0) === 0,
    'the spans of the ended trace export to be sent',
    30_000,
    50,
  );
}

/**
 * The limits scenario's gateways: two rate-limit rules every call matches (per principal, and per
 * tool of the upstream) at rates no bench reaches, so every call takes two tokens and none is
 * refused; and a concurrency limit above the most clients, so every call takes a slot and none waits.
 */
function limitVariants(id: string) {
  const versus = { versus: 'no limits', cost: 'limits that never refuse' };
  const never = { requestsPerSecond: 1e9, burst: 1e9 };
  return [
    {
      role: 'variant' as const,
      name: 'gateway, 2 rate limits',
      id: `${id}-rate`,
      versus,
      settings: {
        rateLimits: {
          rules: [
            { name: 'each-principal', ...never },
            { name: 'each-tool', per: 'tool', tools: ['*'], ...never },
          ],
        },
      },
    },
    { role: 'variant' as const, name: 'gateway, maxConcurrent', id: `${id}-concurrent`, versus, serverSettings: { limits: { maxConcurrent: 1000 } } },
  ];
}

/**
 * Connects `level.clients` clients to each path, warms them up, and measures the paths in turns.
 * `paths` is direct first (what the ratios are against), then the gateway paths.
 */
async function measureLevel(
  spec: ScenarioSpec,
  level: LevelPlan,
  rounds: number,
  paths: MeasuredPath[],
  cleanup: Cleanup,
  backend: TracingBackend | undefined,
): Promise<LevelResult> {
  const clients: BenchClient[][] = [];
  const closes: (() => Promise<void>)[] = [];
  for (const path of paths) {
    const connected = await connectClients(level.clients, path.target, path.tool);
    closes.unshift(cleanup.add(`${spec.id} ${path.name} clients`, () => closeClients(connected)));
    clients.push(connected);
  }
  for (const connected of clients) await warmUp(connected, level.warmUp);

  const blocks: Block[][] = paths.map(() => []);
  const cpuSeconds: number[][] = paths.map(() => []);
  let backendSeconds = 0;
  for (let round = 0; round < rounds; round++) {
    for (const i of turnOrder(paths.length, round)) {
      await paths[i].before?.();
      const before = paths[i].gateway?.cpuSeconds() ?? 0;
      const backendBefore = backend?.cpuSeconds() ?? 0;
      blocks[i].push(await runBlock(clients[i], level.measure));
      await paths[i].after?.();
      cpuSeconds[i].push((paths[i].gateway?.cpuSeconds() ?? 0) - before);
      backendSeconds += (backend?.cpuSeconds() ?? 0) - backendBefore;
    }
  }
  for (const close of closes) await close();
  // the backend ingests a batch when the gateway sends it, which may be during another path's block: all of it counts
  const tracedCalls = sum(paths.flatMap((p, i) => (p.traced ? blocks[i].map((b) => b.latenciesMs.length) : [])));

  const figures = (i: number): GatewayFigures => {
    const summary = summarize(blocks[i]);
    return {
      summary,
      cpuUsPerCall: (sum(cpuSeconds[i]) * 1e6) / summary.calls,
      roundSummaries: blocks[i].map((b) => summarize([b])),
      roundCpuUsPerCall: blocks[i].map((b, r) => (cpuSeconds[i][r] * 1e6) / b.latenciesMs.length),
      roundRatios: blocks[i].map((b, r) => throughput(b) / throughput(blocks[0][r])),
    };
  };
  const of = (role: MeasuredPath['role']) => {
    const i = paths.findIndex((p) => p.role === role);
    return i < 0 ? undefined : figures(i);
  };
  const [baseline, modern] = [of('baseline'), of('modern')];
  const variants = paths.flatMap((p, i) => {
    if (p.role !== 'variant') return [];
    const against = p.against === undefined ? undefined : paths.findIndex((q) => q.name === p.against);
    return [{ name: p.name, ...p.versus!, figures: figures(i), ...(against === undefined ? {} : { against: figures(against) }) }];
  });
  return {
    clients: level.clients,
    direct: summarize(blocks[0]),
    gateway: of('gateway')!,
    ...(baseline ? { baseline } : {}),
    ...(modern ? { modern } : {}),
    ...(variants.length > 0 ? { variants } : {}),
    ...(backend && tracedCalls > 0 ? { backendCpuUsPerTracedCall: (backendSeconds * 1e6) / tracedCalls } : {}),
  };
}

/**
 * The order of the paths (0 = direct, then the gateway paths) in one round. Forwards in even rounds
 * and backwards in odd ones, so over an even number of rounds every path has the same mean position
 * and a linear drift cancels out (AB BA…). The gateway paths also rotate every second round (ABC
 * CBA ACB BCA), so over 2×(their number) rounds they are interchangeable: each follows every path
 * as often as the others do, and what a block leaves behind (a hot cache, a loaded machine) favours none.
 */
export function turnOrder(paths: number, round: number): number[] {
  const gateways = paths - 1;
  const forwards = [0, ...Array.from({ length: gateways }, (_, i) => 1 + ((i + Math.floor(round / 2)) % gateways))];
  return round % 2 === 0 ? forwards : forwards.reverse();
}

function throughput(block: Block): number {
  return block.latenciesMs.length / block.wallMs;
}

function sum(values: number[]): number {
  return values.reduce((a, b) => a + b, 0);
}
