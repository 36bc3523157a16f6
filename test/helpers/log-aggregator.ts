/**
 * A real log aggregator for the log-aggregation test and `npm run bench:logs`: the OpenTelemetry
 * Collector that scripts/install-log-aggregator.sh builds into .cache/bin/log-aggregator, with a
 * fluent forward receiver on a free loopback port (the protocol Docker's fluentd logging driver
 * speaks, as fluentd's in_forward does) and a file exporter writing the aggregate as JSON lines.
 * It stands in for fluentd (fluentd/mcp-logging.conf), which cannot be installed here; its config
 * is fluentd/log-aggregator.yaml.
 * `lines()` reads the aggregate back one container line per entry; `follow()` reports each line
 * as it lands in the file, for the delay measurement.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, openSync, readSync, closeSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { connect } from 'node:net';
import { join, resolve } from 'node:path';
import { ROOT } from '../containers/support/docker';
import { freePort } from './ports';
import { killGroup } from './remote-servers';
import { waitFor } from './wait';

/** The config users run it with too, here on a free loopback port and a temp file (ROOT: from dist/ too, for the bench). */
const AGGREGATOR_CONFIG = resolve(ROOT, 'fluentd', 'log-aggregator.yaml');
export const LOG_AGGREGATOR_BIN = process.env.MCP_FLEET_LOG_AGGREGATOR_BIN ?? resolve(ROOT, '.cache', 'bin', 'log-aggregator');

/** One line a container wrote, as the aggregate holds it. */
export interface AggregatedLine {
  /** The record's tag (the driver's `tag` option), e.g. mcp-fleet.gateway. */
  tag: string;
  containerName?: string;
  containerId?: string;
  /** stdout or stderr. */
  source?: string;
  /** The line itself (the driver's `log` field). */
  log: string;
  /** The line parsed, when it is a JSON object (the gateway's pino lines are). */
  fields?: Record<string, unknown>;
}

export interface LogAggregator {
  /** host:port of the forward receiver, for `--log-opt fluentd-address=`. */
  address: string;
  /** The aggregate file. */
  file: string;
  /** Every line in the aggregate so far. */
  lines(): AggregatedLine[];
  /** Calls `onLine` with each line as it appears in the aggregate (polled every `everyMs`); returns the stop function. */
  follow(onLine: (line: AggregatedLine) => void, everyMs?: number): () => void;
  /** The directory it works in (the aggregate): gone after close(). */
  dir: string;
  /** The collector's process id, for a leak check after close(). */
  pid: number;
  /** Ends the process and removes its files. */
  close(): Promise<void>;
}

/** How long a line may wait in the aggregator (fluentd/log-aggregator.yaml's defaults: 50ms each), as collector durations. */
export interface AggregatorTimings {
  batchTimeout?: string;
  flushInterval?: string;
}

export async function startLogAggregator(timings: AggregatorTimings = {}): Promise<LogAggregator> {
  if (!existsSync(LOG_AGGREGATOR_BIN)) throw new Error(`no log aggregator at ${LOG_AGGREGATOR_BIN}: run scripts/install-log-aggregator.sh`);
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'log-aggregator-'));
  const file = join(dir, 'aggregate.jsonl');
  let stderr = '';
  const child: ChildProcess = spawn(LOG_AGGREGATOR_BIN, ['--config', AGGREGATOR_CONFIG], {
    env: {
      PATH: process.env.PATH,
      HOME: dir,
      MCP_FLEET_LOG_FORWARD: `127.0.0.1:${port}`,
      MCP_FLEET_LOG_FILE: file,
      ...(timings.batchTimeout ? { MCP_FLEET_LOG_BATCH_TIMEOUT: timings.batchTimeout } : {}),
      ...(timings.flushInterval ? { MCP_FLEET_LOG_FLUSH_INTERVAL: timings.flushInterval } : {}),
    },
    stdio: ['ignore', 'ignore', 'pipe'],
    detached: true,
  });
  child.stderr!.on('data', (c: Buffer) => (stderr = (stderr + c.toString()).slice(-4000)));
  const close = async () => {
    await killGroup(child);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    // the receiver is up once its port takes connections; the collector prints nothing at level warn
    await waitFor(
      async () => {
        if (child.exitCode !== null) throw new Error(`log-aggregator exited with ${child.exitCode}: ${stderr}`);
        return canConnect(port);
      },
      'the log aggregator to listen',
      30_000,
    );
  } catch (err) {
    await close();
    throw err;
  }

  const follow = (onLine: (line: AggregatedLine) => void, everyMs = 5) => {
    let offset = 0;
    let partial = '';
    const buffer = Buffer.alloc(1 << 20);
    const poll = () => {
      if (!existsSync(file) || statSync(file).size <= offset) return;
      const fd = openSync(file, 'r');
      try {
        for (let n; (n = readSync(fd, buffer, 0, buffer.length, offset)) > 0; offset += n) partial += buffer.toString('utf8', 0, n);
      } finally {
        closeSync(fd);
      }
      const complete = partial.split('\n');
      partial = complete.pop()!;
      for (const batch of complete) for (const line of parseBatch(batch)) onLine(line);
    };
    const timer = setInterval(poll, everyMs);
    return () => clearInterval(timer);
  };

  return {
    address: `127.0.0.1:${port}`,
    file,
    dir,
    pid: child.pid!,
    lines: () => (existsSync(file) ? readFileSync(file, 'utf8').split('\n').flatMap(parseBatch) : []),
    follow,
    close,
  };
}

/** One line of the file exporter's output: an OTLP/JSON logs export, one record per container line. */
function parseBatch(text: string): AggregatedLine[] {
  if (text.trim() === '') return [];
  const batch = JSON.parse(text) as OtlpLogs;
  return batch.resourceLogs.flatMap((r) =>
    r.scopeLogs.flatMap((s) =>
      s.logRecords.map((record) => {
        const attrs = Object.fromEntries((record.attributes ?? []).map((a) => [a.key, a.value.stringValue]));
        const log = record.body?.stringValue ?? '';
        return {
          tag: attrs['fluent.tag'] ?? '',
          containerName: attrs.container_name,
          containerId: attrs.container_id,
          source: attrs.source,
          log,
          fields: jsonObject(log),
        };
      }),
    ),
  );
}

function jsonObject(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

interface OtlpLogs {
  resourceLogs: { scopeLogs: { logRecords: { body?: { stringValue?: string }; attributes?: { key: string; value: { stringValue?: string } }[] }[] }[] }[];
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((done) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      done(true);
    });
    socket.once('error', () => done(false));
  });
}
