/**
 * `npm run bench:logs`: how long a line a container writes takes to reach the log aggregate, on
 * real parts. A container (mcp-fleet/mcp-server's node) writes BENCH_LOG_LINES pino-shaped JSON
 * lines, one every BENCH_LOG_INTERVAL_MS, each carrying the wall-clock time it was written (the
 * container and this process read the same kernel clock). Through Docker's fluentd logging driver
 * (docker/logging-driver.json's options) into the aggregator of fluentd/log-aggregator.yaml, read by
 * tailing the aggregate file; and, as the baseline in the same run, the same lines from a container
 * on the default json-file driver read with `docker logs -f`; and once more into an aggregator
 * whose batch and flush waits are cut to 1 ms, which leaves what the driver costs. The delay of a line is from its
 * write to the moment the reader here sees it; p50, p99 and max per path, and their ratios. The
 * writer starts only once the reader has seen its first line, so no line waits for a reader to
 * attach. Everything it starts is stopped on exit, on error and on Ctrl-C.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { docker, requireEngineAndImages, SERVER_IMAGE, TEST_LABEL, uniqueName } from '../test/containers/support/docker';
import { startLogAggregator, type AggregatorTimings } from '../test/helpers/log-aggregator';
import { waitFor } from '../test/helpers/wait';
import { terminating } from '../gateway/termination';
import { Cleanup } from './cleanup';
import { sweepLabelled } from './docker-sweep';
import { percentile } from './stats';

const LINES = Number(process.env.BENCH_LOG_LINES ?? 500);
const INTERVAL_MS = Number(process.env.BENCH_LOG_INTERVAL_MS ?? 10);

/**
 * The writer, run by node in the container: a `ready` line, then on `go` from stdin the numbered
 * lines. `performance.timeOrigin + performance.now()` is the wall clock in fractions of a ms.
 */
const WRITER = `
const now = () => performance.timeOrigin + performance.now();
const line = (o) => process.stdout.write(JSON.stringify({ level: 30, time: new Date().toISOString(), service: 'bench-logs', ...o }) + '\\n');
line({ msg: 'ready' });
process.stdin.once('data', () => {
  let seq = 0;
  const t = setInterval(() => {
    line({ msg: 'bench line', seq, sentAt: now() });
    if (++seq === ${LINES}) { clearInterval(t); process.stdin.destroy(); }
  }, ${INTERVAL_MS});
});
`;

interface Arrival {
  seq: number;
  delayMs: number;
}

interface PathResult {
  path: string;
  arrived: number;
  p50: number;
  p99: number;
  max: number;
}

/** Each line a reader sees, parsed: the `ready` line, or one line's delay from its write to now. */
function onWriterLine(fields: Record<string, unknown> | undefined, ready: () => void, arrivals: Arrival[]): void {
  if (fields?.msg === 'ready') ready();
  else if (typeof fields?.sentAt === 'number' && typeof fields.seq === 'number')
    arrivals.push({ seq: fields.seq, delayMs: performance.timeOrigin + performance.now() - fields.sentAt });
}

function parse(text: string): Record<string, unknown> | undefined {
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

/**
 * Runs the writer container with `driverArgs`; `attach(name, onFields)` starts the reader for it
 * and returns its stop function. Resolves with the delays once every line arrived (or the writer
 * is gone and nothing more came for 5 s).
 */
async function measure(
  cleanup: Cleanup,
  label: string,
  path: string,
  driverArgs: string[],
  attach: (name: string, onFields: (f: Record<string, unknown> | undefined) => void) => Promise<() => void>,
): Promise<PathResult> {
  const name = uniqueName('bench-logs');
  cleanup.refuseWhenStopping(`container ${name}`);
  const removeContainer = cleanup.add(`container ${name}`, () => docker('rm', '-f', '-v', name).then(() => undefined));
  const args = ['run', '-i', '--name', name, '--label', label, '--network', 'none', ...driverArgs, '--entrypoint', 'node', SERVER_IMAGE, '-e', WRITER];
  const writer: ChildProcess = spawn('docker', args, { stdio: ['pipe', 'ignore', 'pipe'] });
  let writerErr = '';
  writer.stderr!.on('data', (c: Buffer) => (writerErr = (writerErr + c.toString()).slice(-2000)));
  const arrivals: Arrival[] = [];
  let isReady = false;
  try {
    await waitFor(async () => (await docker('inspect', '-f', '{{.State.Running}}', name)).trim() === 'true', `container ${name} to run`, 60_000);
    const stopReader = cleanup.add(`reader of ${name}`, await attach(name, (fields) => onWriterLine(fields, () => (isReady = true), arrivals)));
    await waitFor(
      () => {
        if (!isReady && writer.exitCode !== null) throw new Error(`the writer exited with ${writer.exitCode}: ${writerErr}`);
        return isReady;
      },
      `the ready line of ${name} through ${path}`,
      30_000,
    );
    writer.stdin!.write('go\n');
    let lastCount = -1;
    let quietSince = Date.now();
    await waitFor(
      () => {
        if (arrivals.length !== lastCount) [lastCount, quietSince] = [arrivals.length, Date.now()];
        return arrivals.length >= LINES || (writer.exitCode !== null && Date.now() - quietSince > 5_000);
      },
      `${LINES} lines through ${path}`,
      LINES * INTERVAL_MS + 60_000,
      20,
    );
    await stopReader();
  } finally {
    await removeContainer();
  }
  const delays = arrivals.map((a) => a.delayMs).sort((a, b) => a - b);
  return { path, arrived: new Set(arrivals.map((a) => a.seq)).size, p50: percentile(delays, 50), p99: percentile(delays, 99), max: delays.at(-1) ?? NaN };
}

/** The writer through the fluentd driver into an aggregator of its own with `timings`, read by tailing the aggregate. */
async function throughAggregator(cleanup: Cleanup, label: string, path: string, timings: AggregatorTimings): Promise<PathResult> {
  cleanup.refuseWhenStopping('the log aggregator');
  const aggregator = await startLogAggregator(timings);
  const stop = cleanup.add('log aggregator', () => aggregator.close());
  try {
    const driver = [
      '--log-driver',
      'fluentd',
      '--log-opt',
      `fluentd-address=${aggregator.address}`,
      '--log-opt',
      'fluentd-async=true',
      '--log-opt',
      'tag=mcp-fleet.bench',
    ];
    return await measure(cleanup, label, path, driver, async (name, onFields) =>
      aggregator.follow((line) => {
        if (line.containerName === `/${name}`) onFields(line.fields);
      }),
    );
  } finally {
    await stop();
  }
}

/** `docker logs -f NAME` read line by line; the stop function ends it. */
async function followDockerLogs(name: string, onFields: (f: Record<string, unknown> | undefined) => void): Promise<() => void> {
  const follower = spawn('docker', ['logs', '-f', name], { stdio: ['ignore', 'pipe', 'ignore'] });
  createInterface({ input: follower.stdout }).on('line', (l) => onFields(parse(l)));
  return () => {
    if (follower.exitCode === null) follower.kill();
  };
}

const ms = (v: number) => (Number.isFinite(v) ? v.toFixed(1) : '–');

async function main(): Promise<number> {
  const cleanup = new Cleanup();
  const benchId = uniqueName('bench-logs');
  const label = `${TEST_LABEL}=${benchId}`;
  cleanup.onTermination('bench:logs');
  // registered first, so it runs last: a container a signal caught half-created goes too
  cleanup.add(`containers labelled ${label}`, () => sweepLabelled(label));
  process.stderr.write(`bench:logs: run ${benchId}; its containers carry the label ${label}\n`);
  try {
    await requireEngineAndImages([SERVER_IMAGE]);
    const baseline = await measure(cleanup, label, 'json-file, docker logs -f', [], followDockerLogs);
    const aggregated = await throughAggregator(cleanup, label, 'fluentd driver → aggregate file (batch 50ms, flush 50ms: fluentd/log-aggregator.yaml)', {});
    // the same with the aggregator's waits cut to 1 ms: what the driver and the forward protocol cost
    const floor = await throughAggregator(cleanup, label, 'fluentd driver → aggregate file (batch 1ms, flush 1ms)', {
      batchTimeout: '1ms',
      flushInterval: '1ms',
    });

    const rows = [baseline, aggregated, floor].map((r) => `| ${r.path} | ${r.arrived}/${LINES} | ${ms(r.p50)} | ${ms(r.p99)} | ${ms(r.max)} |`);
    const ratios = (r: PathResult) => (['p50', 'p99', 'max'] as const).map((k) => `${k} ×${(r[k] / baseline[k]).toFixed(1)}`).join(', ');
    process.stdout.write(
      [
        `## bench:logs (${new Date().toISOString().slice(0, 10)}): ${LINES} lines, one every ${INTERVAL_MS} ms, delay from the write to the reader (ms)`,
        '',
        '| path | arrived | p50 | p99 | max |',
        '|---|---|---|---|---|',
        ...rows,
        '',
        `against the baseline: ${aggregated.path}: ${ratios(aggregated)}; ${floor.path}: ${ratios(floor)}`,
        '',
      ].join('\n'),
    );
    return [baseline, aggregated, floor].every((r) => r.arrived === LINES) ? 0 : 1;
  } catch (err) {
    process.stderr.write(`bench:logs failed: ${(err as Error).stack ?? err}\n`);
    return 1;
  } finally {
    await cleanup.runAll();
  }
}

// after a signal, its cleanup exits (128 + signo), not the benchmark's own end
void main().then((code) => terminating() || process.exit(code));
