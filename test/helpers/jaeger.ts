/**
 * A real tracing backend for the trace export tests: Jaeger v2 (an OpenTelemetry Collector
 * distribution), built from the Go module proxy by scripts/install-jaeger.sh into
 * .cache/bin/jaeger, with in-memory storage, its OTLP/HTTP receiver and its query API on free
 * loopback ports. `trace(id)` reads a trace back through the query HTTP API, as its UI does.
 * stop() ends it (spans it held are gone); start() again brings it back on the same ports, so a
 * test can take the collector away under a running gateway and give it back.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { freePort } from './ports';
import { killGroup } from './remote-servers';
import { waitFor } from './wait';

export const JAEGER_BIN = process.env.MCP_FLEET_JAEGER_BIN ?? resolve(__dirname, '..', '..', '.cache', 'bin', 'jaeger');

/** One span as Jaeger's query API (/api/traces) answers it, with its tags and process made plain. */
export interface JaegerSpan {
  traceID: string;
  spanID: string;
  operationName: string;
  /** The CHILD_OF reference's span id; undefined for a root span. */
  parent?: string;
  service: string;
  kind?: string;
  tags: Record<string, unknown>;
  /** The names of the span's events (logs): `exception` for a recorded error. */
  events: string[];
}

export interface DevJaeger {
  /** The OTLP/HTTP traces URL to export to. */
  otlpUrl: string;
  /** The trace's spans, or undefined while Jaeger has none of it. */
  trace(traceId: string): Promise<JaegerSpan[] | undefined>;
  /** The ids of the traces with a span of `service` carrying every one of `tags` (the UI's search). */
  find(service: string, tags: Record<string, string>): Promise<string[]>;
  /** The running process's id (a benchmark reads its CPU time), undefined while stopped. */
  readonly pid: number | undefined;
  /** Ends the process (the collector is gone; its ports are closed). */
  stop(): Promise<void>;
  /** Starts it again on the same ports. */
  start(): Promise<void>;
  /** stop(), and its files removed. */
  close(): Promise<void>;
}

/** `bin`: the Jaeger binary, when the caller runs from elsewhere than the source tree (a benchmark from dist/). */
export async function startDevJaeger(bin = JAEGER_BIN): Promise<DevJaeger> {
  if (!existsSync(bin)) throw new Error(`no Jaeger binary at ${bin}: run scripts/install-jaeger.sh (CI does, in .ci/run)`);
  const [otlp, query, queryGrpc, health] = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
  const dir = mkdtempSync(join(tmpdir(), 'jaeger-'));
  const configFile = join(dir, 'config.yaml');
  writeFileSync(configFile, config({ otlp, query, queryGrpc, health }));
  const queryUrl = `http://127.0.0.1:${query}`;
  let child: ChildProcess | undefined;

  const start = async () => {
    let stderr = '';
    const proc = spawn(bin, ['--config', configFile], {
      env: { PATH: process.env.PATH, HOME: dir },
      stdio: ['ignore', 'ignore', 'pipe'],
      detached: true,
    });
    child = proc;
    proc.stderr.on('data', (c: Buffer) => (stderr = (stderr + c.toString()).slice(-4000)));
    try {
      await waitFor(
        async () => {
          if (proc.exitCode !== null) throw new Error(`jaeger exited with ${proc.exitCode}: ${stderr}`);
          const [healthy, queryUp] = await Promise.all([fetch(`http://127.0.0.1:${health}/status`), fetch(`${queryUrl}/api/services`)]);
          return healthy.status === 200 && queryUp.status === 200;
        },
        'Jaeger to be healthy with its query API up',
        60_000,
      );
    } catch (err) {
      await killGroup(proc);
      throw err;
    }
  };
  const stop = async () => {
    if (child) await killGroup(child);
    child = undefined;
  };

  const trace = async (traceId: string): Promise<JaegerSpan[] | undefined> => {
    const res = await fetch(`${queryUrl}/api/traces/${traceId}`);
    if (res.status === 404) return undefined;
    if (!res.ok) throw new Error(`GET /api/traces/${traceId}: HTTP ${res.status} ${await res.text()}`);
    const body = (await res.json()) as { data: JaegerTrace[] };
    const found = body.data?.[0];
    if (!found) return undefined;
    return found.spans.map((s) => {
      const tags = Object.fromEntries(s.tags.map((t) => [t.key, t.value]));
      return {
        traceID: s.traceID,
        spanID: s.spanID,
        operationName: s.operationName,
        parent: s.references.find((r) => r.refType === 'CHILD_OF')?.spanID,
        service: found.processes[s.processID].serviceName,
        kind: tags['span.kind'] as string | undefined,
        tags,
        events: s.logs.flatMap((l) => l.fields.filter((f) => f.key === 'event').map((f) => String(f.value))),
      };
    });
  };

  const find = async (service: string, tags: Record<string, string>): Promise<string[]> => {
    const query = new URLSearchParams({ service, tags: JSON.stringify(tags), lookback: '1h', limit: '20' });
    const res = await fetch(`${queryUrl}/api/traces?${query}`);
    if (!res.ok) throw new Error(`GET /api/traces?${query}: HTTP ${res.status} ${await res.text()}`);
    const body = (await res.json()) as { data: { traceID: string }[] | null };
    return (body.data ?? []).map((t) => t.traceID);
  };

  await start();
  return {
    otlpUrl: `http://127.0.0.1:${otlp}/v1/traces`,
    trace,
    find,
    get pid() {
      return child?.pid;
    },
    stop,
    start,
    close: async () => {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

interface JaegerTrace {
  spans: {
    traceID: string;
    spanID: string;
    operationName: string;
    processID: string;
    references: { refType: string; spanID: string }[];
    tags: { key: string; value: unknown }[];
    logs: { fields: { key: string; value: unknown }[] }[];
  }[];
  processes: Record<string, { serviceName: string }>;
}

/** Jaeger v2's all-in-one setup (its cmd/jaeger/config.yaml), cut to OTLP/HTTP in, memory storage, the query API, on loopback only. */
function config(ports: { otlp: number; query: number; queryGrpc: number; health: number }): string {
  return `service:
  extensions: [jaeger_storage, jaeger_query, healthcheckv2]
  pipelines:
    traces:
      receivers: [otlp]
      processors: [batch]
      exporters: [jaeger_storage_exporter]
  telemetry:
    metrics:
      level: none
    logs:
      level: warn
extensions:
  jaeger_query:
    storage:
      traces: memstore
    http:
      endpoint: 127.0.0.1:${ports.query}
    grpc:
      endpoint: 127.0.0.1:${ports.queryGrpc}
  jaeger_storage:
    backends:
      memstore:
        memory:
          max_traces: 10000
  healthcheckv2:
    use_v2: true
    http:
      endpoint: 127.0.0.1:${ports.health}
receivers:
  otlp:
    protocols:
      http:
        endpoint: 127.0.0.1:${ports.otlp}
processors:
  batch:
    timeout: 100ms
exporters:
  jaeger_storage_exporter:
    trace_storage: memstore
`;
}
