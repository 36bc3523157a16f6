/**
 * `npm run bench:overhead [-- --quick] [-- --only fast-http,fast-stdio] [-- --rounds N] [-- --profile DIR] [-- --baseline DIR]`
 *
 * What the gateway costs per tools/call: latency (p50, p99) and throughput, direct to an upstream
 * versus through a gateway process, same upstream and same run, at 1 and 32 concurrent clients,
 * for an HTTP and a stdio upstream, each with server-everything and with bench/fast-upstream.
 * fast-http-modern adds 2026-07-28 clients (SDK v2, stateless) through the same gateway process.
 * Prints a Markdown table per scenario and whether the issue's targets are met. Everything it
 * starts is stopped at the end, also on error or Ctrl-C.
 *
 * `--baseline DIR` compares this build with another: DIR is a checkout of this project (say, the
 * commit before a change) with its gateway built (DIR/dist/gateway/cli.js). Every scenario then
 * also runs DIR's gateway, with the same config in front of the same upstream, and the three paths
 * (direct, gateway, baseline gateway) take turns block by block (ABC CBA ACB BCA), so a noisy
 * machine's drift hits them alike. The tables add the baseline gateway's figures and this build's
 * gateway CPU per call over the baseline's (target: not above 1), per level and per round. A third
 * path makes the run half as long again. With `--profile DIR2`, the baseline gateway's profiles go
 * to DIR2/baseline. `--rounds N` measures N blocks per path instead of the plan's (4, quick 2): on a
 * noisy machine the per-round ratios of many rounds tell a small difference from drift.
 */
import { randomUUID } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { Cleanup } from './cleanup';
import { killMarked } from './processes';
import { summarizeProfile } from './profile-summary';
import { scenarioTable, summaryTable } from './report';
import { THIS_BUILD_CLI } from './gateway-process';
import { BASELINE_PROFILE_SUBDIR, runScenario, type Plan, type ScenarioResult, type ScenarioSpec } from './scenario';
import { UPSTREAMS } from './upstreams';

const SCENARIOS: ScenarioSpec[] = [
  { id: 'everything-http', upstream: UPSTREAMS.everything, transport: 'http' },
  { id: 'fast-http', upstream: UPSTREAMS.fast, transport: 'http' },
  { id: 'everything-stdio', upstream: UPSTREAMS.everything, transport: 'stdio' },
  { id: 'fast-stdio', upstream: UPSTREAMS.fast, transport: 'stdio' },
  // fast-http without the per-call `call` log line (log.calls: false): what that line costs
  { id: 'fast-http-no-call-log', upstream: UPSTREAMS.fast, transport: 'http', callLog: false },
  // fast-http with 2026-07-28 clients beside the 2025 ones, through the same gateway: what statelessness costs
  { id: 'fast-http-modern', upstream: UPSTREAMS.fast, transport: 'http', modernClients: true },
  // fast-http with gateways that authenticate every request (API key, bearer JWT) beside one that does not
  { id: 'fast-http-auth', upstream: UPSTREAMS.fast, transport: 'http', auth: true },
  // fast-http with gateways that rate-limit every call and hold a concurrency slot for it (never refusing), beside one without
  { id: 'fast-http-limits', upstream: UPSTREAMS.fast, transport: 'http', limits: true },
  // fast-http through a gateway with tracing to a real Jaeger, /metrics scraped every second and the per-call log line, beside one with all that off
  { id: 'fast-http-observability', upstream: UPSTREAMS.fast, transport: 'http', observability: true },
];

/**
 * Sized for about 2 minutes on 2 noisy cores, and at most ~5: every block stops at its call count
 * or its time cap, whichever comes first.
 */
const FULL: Plan = {
  rounds: 4,
  levels: [
    { clients: 1, warmUp: { callsPerClient: 400, maxMs: 2000 }, measure: { callsPerClient: 1000, maxMs: 3000 } },
    { clients: 32, warmUp: { callsPerClient: 20, maxMs: 2000 }, measure: { callsPerClient: 80, maxMs: 4000 } },
  ],
};

const QUICK: Plan = {
  rounds: 2,
  levels: [
    { clients: 1, warmUp: { callsPerClient: 100, maxMs: 1000 }, measure: { callsPerClient: 200, maxMs: 1500 } },
    { clients: 32, warmUp: { callsPerClient: 5, maxMs: 1000 }, measure: { callsPerClient: 15, maxMs: 2000 } },
  ],
};

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      only: { type: 'string' },
      profile: { type: 'string' },
      baseline: { type: 'string' },
      rounds: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(
      'usage: overhead [--quick] [--only ID[,ID...]] [--rounds N] [--profile DIR] [--baseline CHECKOUT]\n' +
        `scenarios: ${SCENARIOS.map((s) => s.id).join(', ')}\n`,
    );
    return 0;
  }
  const scenarios = pickScenarios(values.only);
  const baseline = values.baseline === undefined ? undefined : baselineBuild(values.baseline);
  const profileDir = values.profile ? resolve(values.profile) : undefined;
  // One profile directory per build, so that each profile's build is known from where it lies.
  const profileDirs = profileDir ? [profileDir, ...(baseline ? [join(profileDir, BASELINE_PROFILE_SUBDIR)] : [])] : [];
  for (const dir of profileDirs) mkdirSync(dir, { recursive: true });
  const profilesBefore = new Map(profileDirs.map((dir) => [dir, new Set(readdirSync(dir))]));
  const plan = withRounds(values.quick ? QUICK : FULL, values.rounds);

  const cleanup = new Cleanup();
  const marker = randomUUID();
  // Registered first, so it runs last: anything that escaped its owner is killed here.
  cleanup.add('leftover sweep', async () => {
    const n = await killMarked(marker);
    if (n > 0) process.stderr.write(`cleanup: killed ${n} leftover process(es)\n`);
  });
  const workDir = mkdtempSync(join(tmpdir(), 'mcp-fleet-bench-'));
  cleanup.add('work directory', () => rmSync(workDir, { recursive: true, force: true }));
  const offSignals = cleanup.onTermination('bench:overhead');

  const started = Date.now();
  process.stdout.write(header(plan, values.quick === true, profileDir, baseline));
  const results: ScenarioResult[] = [];
  try {
    for (const spec of scenarios) {
      const result = await runScenario(spec, plan, {
        cleanup,
        marker,
        workDir,
        profileDir,
        baselineCli: baseline?.cli,
        progress: (line) => process.stderr.write(`… ${line}\n`),
      });
      results.push(result);
      process.stdout.write(`${scenarioTable(result)}\n\n`);
    }
    process.stdout.write(
      `### Summary\n\n${summaryTable(results)}\n\nTotal run time ${((Date.now() - started) / 1000).toFixed(0)} s; load average at the end ${loadAverage()}.\n`,
    );
    for (const [dir, before] of profilesBefore) {
      // Only this run's profiles, one per gateway (scenario), in the order they were written.
      const fresh = readdirSync(dir)
        .filter((f) => f.endsWith('.cpuprofile') && !before.has(f))
        .sort();
      for (const file of fresh) process.stdout.write(`\n${summarizeProfile(join(dir, file))}\n`);
    }
    return 0;
  } catch (err) {
    // After Ctrl-C the clients are closed under the running blocks; their errors say nothing new.
    if (!cleanup.stopping) process.stderr.write(`bench:overhead failed: ${(err as Error).stack ?? err}\n`);
    return 1;
  } finally {
    await cleanup.runAll();
    offSignals();
  }
}

function withRounds(plan: Plan, rounds: string | undefined): Plan {
  if (rounds === undefined) return plan;
  const n = Number(rounds);
  if (!Number.isInteger(n) || n < 1 || n > 64) throw new Error(`--rounds takes a whole number of blocks per path from 1 to 64 (got ${rounds})`);
  return { ...plan, rounds: n };
}

function pickScenarios(only: string | undefined): ScenarioSpec[] {
  if (!only) return SCENARIOS;
  const ids = only.split(',').map((s) => s.trim());
  const unknown = ids.filter((id) => !SCENARIOS.some((s) => s.id === id));
  if (unknown.length > 0) throw new Error(`unknown scenario ${unknown.join(', ')} (known: ${SCENARIOS.map((s) => s.id).join(', ')})`);
  return SCENARIOS.filter((s) => ids.includes(s.id));
}

interface BaselineBuild {
  /** The checkout, as given. */
  dir: string;
  cli: string;
}

/** The baseline checkout's gateway CLI; it must be built already, since building it is the caller's to decide. */
function baselineBuild(dir: string): BaselineBuild {
  const cli = join(resolve(dir), 'dist', 'gateway', 'cli.js');
  if (!existsSync(cli)) throw new Error(`--baseline ${dir}: no ${cli} (build that checkout first: npm run build there)`);
  return { dir, cli };
}

/** The commit a checkout is at, and whether it has uncommitted changes, so the figures say which builds they compare. */
function commitOf(dir: string): string {
  const git = (...args: string[]) => execFileSync('git', ['-C', dir, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  try {
    return `commit \`${git('rev-parse', '--short', 'HEAD')}\`${git('status', '--porcelain', '--untracked-files=no') ? ' with uncommitted changes' : ''}`;
  } catch {
    return 'not a git checkout';
  }
}

function header(plan: Plan, quick: boolean, profileDir: string | undefined, baseline: BaselineBuild | undefined): string {
  const levels = plan.levels
    .map((l) => `${l.clients} client(s): up to ${l.measure.callsPerClient * l.clients} calls or ${l.measure.maxMs / 1000} s per block`)
    .join('; ');
  const turns = baseline ? 'direct, gateway and baseline gateway taking turns (ABC CBA ACB BCA …)' : 'direct and gateway alternating';
  return [
    `## Gateway overhead (bench:overhead)${quick ? ' — quick run' : ''}`,
    '',
    `${new Date().toISOString()}, Node ${process.version}, ${cpus().length} CPU(s) (${cpus()[0]?.model ?? 'unknown'}), load average at the start ${loadAverage()}.`,
    `tools/call of \`echo\` with the official SDK Client; closed loop (each client sends its next call when the last one returns).`,
    `${plan.rounds} measured blocks per path, ${turns}; ${levels}. Latency in ms; added p50 = gateway p50 − direct p50.`,
    'gateway CPU/call: user + system CPU time of the gateway process (not its upstream) during the gateway blocks, per call.',
    ...(baseline
      ? [
          `gateway: this build (${commitOf(resolve(THIS_BUILD_CLI, '..', '..', '..'))}); baseline gateway: the build in ${baseline.dir} (${commitOf(baseline.dir)}).`,
          'CPU/call vs baseline: gateway CPU/call ÷ baseline gateway CPU/call, over all rounds and (in brackets) round by round; CPU time is counted in 10 ms clock ticks, so short blocks round coarsely.',
          'Its target is MET at <= 1.00 over all rounds, NOT MET when above 1.00 in every round, and NOT CLEAR when the rounds disagree; two identical builds land on either side of 1.00 by chance, so re-run before reading much into a few per cent.',
        ]
      : []),
    'Load generator, gateway and upstream share the same cores, so at 32 clients the figures are CPU-bound.',
    ...(profileDir
      ? [
          `The ${baseline ? 'gateways run' : 'gateway runs'} with --cpu-prof (profiles in ${profileDir}${baseline ? `, the baseline's in ${join(profileDir, BASELINE_PROFILE_SUBDIR)}` : ''}); the profiler slows ${baseline ? 'them' : 'it'}, so these figures are not the benchmark's.`,
        ]
      : []),
    '',
    '',
  ].join('\n');
}

function loadAverage(): string {
  return loadavg()
    .map((l) => l.toFixed(2))
    .join(' / ');
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: Error) => {
    process.stderr.write(`bench:overhead: ${err.message}\n`);
    process.exitCode = 2;
  },
);
