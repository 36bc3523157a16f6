/**
 * `npm run bench:reload`
 *
 * What a hot reload of the config costs the calls in progress, on real parts: a gateway process
 * with three stdio fast-upstreams (`up` unchanged throughout, `flip` changed by every reload so
 * that it is replaced each time, `extra` added and removed in turn) and the policy and rate-limit
 * rules swapped on each reload. CLIENTS SDK clients call `up__echo` and `flip__echo` in turn, back
 * to back: first for BASELINE_MS with no reload (the baseline of the same run), then while the
 * file is rewritten and reloaded (POST /admin/reload) RELOADS times, GAP_MS apart, and again
 * RELOADS times with only the policy and rate limits changed (no upstream to start). Prints failed
 * calls of each phase (expected 0), the latency of the calls started while a reload ran against
 * the baseline's, as ratios, and the reloads' own time. Everything it starts is stopped on exit, on
 * error and on Ctrl-C.
 */
import { randomUUID } from 'node:crypto';
import { renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connectGateway, type GatewayConnection } from '../gateway/client/connect';
import { spawnGateway } from '../test/helpers/gateway-process';
import { waitForNoProcesses } from '../test/helpers/processes';
import { MARKER_VAR } from '../test/helpers/servers';
import { Cleanup } from './cleanup';
import { percentile, spread } from './stats';
import { UPSTREAMS } from './upstreams';

const CLIENTS = Number(process.env.BENCH_CLIENTS ?? 4);
const BASELINE_MS = Number(process.env.BENCH_BASELINE_MS ?? 5_000);
const RELOADS = Number(process.env.BENCH_RELOADS ?? 20);
const GAP_MS = Number(process.env.BENCH_GAP_MS ?? 250);
const ADMIN_TOKEN = randomUUID() + randomUUID();

interface Call {
  start: number;
  end: number;
  ok: boolean;
}

/** The config of reload `i` (0: the one the gateway starts with), with the servers of reload `n` (the same n: only policy and rate limits differ). */
function configOf(i: number, marker: string, n = i): Record<string, unknown> {
  const fast = (env: Record<string, string> = {}) => ({
    command: UPSTREAMS.fast.command,
    args: UPSTREAMS.fast.args('stdio'),
    env: { [MARKER_VAR]: marker, ...env },
  });
  return {
    admin: { token: ADMIN_TOKEN },
    reload: { watch: false },
    log: { calls: false },
    policy: { default: 'allow', rules: [{ name: `deny-nothing-${i}`, effect: 'deny', servers: ['none'], tools: ['none'] }] },
    rateLimits: { rules: [{ name: `generous-${i}`, requestsPerSecond: 1e6, burst: 1e6 }] },
    servers: {
      up: fast(),
      // another value of its environment each time: a changed server, replaced
      flip: fast({ BENCH_FLIP: String(n) }),
      ...(n % 2 === 1 ? { extra: fast() } : {}),
    },
  };
}

function writeConfig(dir: string, doc: unknown): void {
  const tmp = join(dir, '.gw.json.tmp');
  writeFileSync(tmp, JSON.stringify(doc));
  renameSync(tmp, join(dir, 'gw.json'));
}

/** Each client calls the two tools in turn until `until`, every call timed. */
async function load(clients: GatewayConnection[], until: () => boolean): Promise<Call[]> {
  const calls: Call[] = [];
  await Promise.all(
    clients.map(async ({ client }, n) => {
      for (let k = n; !until(); k++) {
        const start = performance.now();
        const ok = await client.callTool({ name: k % 2 ? 'flip__echo' : 'up__echo', arguments: { message: 'hi' } }).then(
          (r) => !r.isError,
          () => false,
        );
        calls.push({ start, end: performance.now(), ok });
      }
    }),
  );
  return calls;
}

function figures(calls: Call[], wallMs: number) {
  const sorted = calls.map((c) => c.end - c.start).sort((a, b) => a - b);
  return {
    calls: calls.length,
    failed: calls.filter((c) => !c.ok).length,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    perSec: (calls.length * 1000) / wallMs,
  };
}

const ratio = (a: number, b: number) => `${(a / b).toFixed(2)}x`;
const ms = (v: number) => `${v.toFixed(2)} ms`;

/** Load while the config is rewritten and reloaded RELOADS times; the calls, and those started while a reload ran. */
async function reloadPhase(gw: { url: string; dir: string }, clients: GatewayConnection[], configFor: (i: number) => Record<string, unknown>) {
  let reloading = true;
  const t0 = performance.now();
  const during = load(clients, () => !reloading);
  const windows: { start: number; end: number; durationMs: number; ok: boolean }[] = [];
  for (let i = 1; i <= RELOADS; i++) {
    await new Promise((r) => setTimeout(r, GAP_MS));
    writeConfig(gw.dir, configFor(i));
    const start = performance.now();
    const res = await fetch(`${gw.url}/admin/reload`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    const body = (await res.json()) as { result: string; durationMs?: number; error?: string };
    windows.push({ start, end: performance.now(), durationMs: body.durationMs ?? NaN, ok: body.result === 'applied' });
    if (body.result !== 'applied') console.error(`reload ${i} refused: ${body.error}`);
  }
  await new Promise((r) => setTimeout(r, GAP_MS));
  reloading = false;
  const calls = await during;
  const wallMs = performance.now() - t0;
  // by start time, not by overlap: a long call overlaps a short window more often, which would bias the sample to slow calls
  const startedDuring = (c: Call) => windows.some((w) => c.start >= w.start && c.start < w.end);
  return { windows, all: figures(calls, wallMs), duringReload: figures(calls.filter(startedDuring), wallMs) };
}

async function main(): Promise<void> {
  const cleanup = new Cleanup();
  process.once('SIGINT', () => void cleanup.runAll().then(() => process.exit(130)));
  const marker = `bench-reload-${randomUUID()}`;
  try {
    const gw = await spawnGateway(configOf(0, marker), marker);
    cleanup.add('work dir', () => rmSync(gw.dir, { recursive: true, force: true }));
    cleanup.add('gateway', async () => {
      const exited = new Promise((r) => gw.child.once('close', r));
      gw.child.kill('SIGTERM');
      await exited;
      const left = await waitForNoProcesses(marker);
      if (left.length > 0) console.error(`processes left: ${left.join(', ')}`);
    });
    const clients: GatewayConnection[] = [];
    cleanup.add('clients', () => Promise.all(clients.map((c) => c.close())).then(() => {}));
    for (let i = 0; i < CLIENTS; i++) clients.push(await connectGateway(gw.url, 'streamable-http', { name: `bench-${i}`, version: '1' }));
    // warm up: every path compiled and connected before anything is timed
    const warm = performance.now();
    await load(clients, () => performance.now() - warm > 1_000);

    const t0 = performance.now();
    const baseline = await load(clients, () => performance.now() - t0 > BASELINE_MS);
    const baselineMs = performance.now() - t0;

    const serverPhase = await reloadPhase(gw, clients, (i) => configOf(i, marker));
    const settingsPhase = await reloadPhase(gw, clients, (i) => configOf(RELOADS + i, marker, RELOADS));

    const base = figures(baseline, baselineMs);
    console.log(`hot reload under load: ${CLIENTS} clients, ${RELOADS} reloads ${GAP_MS} ms apart per phase (node ${process.version})\n`);
    console.log('| phase | calls | failed | p50 | p99 | calls/s | p50 vs baseline | p99 vs baseline | calls/s vs baseline |');
    console.log('|---|--:|--:|--:|--:|--:|--:|--:|--:|');
    const row = (name: string, f: ReturnType<typeof figures>, perSec = true) =>
      console.log(
        `| ${name} | ${f.calls} | ${f.failed} | ${ms(f.p50)} | ${ms(f.p99)} | ${perSec ? f.perSec.toFixed(0) : '–'} | ${ratio(f.p50, base.p50)} | ${ratio(f.p99, base.p99)} | ${perSec ? ratio(f.perSec, base.perSec) : '–'} |`,
      );
    row('baseline (no reload)', base);
    for (const [name, phase] of [
      ['servers and settings', serverPhase],
      ['settings only', settingsPhase],
    ] as const) {
      row(`${name}: all calls of the phase`, phase.all);
      row(`${name}: calls started while a reload ran`, phase.duringReload, false);
    }
    console.log(
      '\nservers and settings: each reload replaced `flip` (a new process started, the old one drained), added or removed `extra`, swapped policy and rate limits.',
    );
    console.log('settings only: each reload swapped policy and rate-limit rules; every server unchanged.\n');
    console.log('| phase | reloads applied | reload time in the gateway, median (range) | POST /admin/reload round trip, median (range) |');
    console.log('|---|--:|--:|--:|');
    for (const [name, phase] of [
      ['servers and settings', serverPhase],
      ['settings only', settingsPhase],
    ] as const) {
      const inGateway = spread(phase.windows.map((w) => w.durationMs));
      const roundTrip = spread(phase.windows.map((w) => w.end - w.start));
      console.log(
        `| ${name} | ${phase.windows.filter((w) => w.ok).length} of ${RELOADS} | ${ms(inGateway.median)} (${ms(inGateway.min)}–${ms(inGateway.max)}) | ${ms(roundTrip.median)} (${ms(roundTrip.min)}–${ms(roundTrip.max)}) |`,
      );
    }
    const failed = base.failed + serverPhase.all.failed + settingsPhase.all.failed;
    console.log(failed === 0 ? '\nno call failed.' : `\n${failed} call(s) failed (expected 0).`);
    process.exitCode = failed === 0 ? 0 : 1;
  } finally {
    await cleanup.runAll();
  }
}

void main();
