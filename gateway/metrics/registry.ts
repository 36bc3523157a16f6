/**
 * The gateway's Prometheus metrics, in a registry of its own (two gateways in one process do not
 * share counters). Request counters and durations are recorded as calls end; gauges for sessions,
 * upstreams, weights, circuit breakers, container pools and held tasks are read from the fleet when
 * Prometheus scrapes.
 * Under the test run's output tap (output-tap.ts) every scrape's text is copied there.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { logLinesDropped } from '../log';
import { outputTap } from '../output-tap';
import { BREAKER_STATES } from '../servers/breaker';
import type { ServerStatus } from '../servers/registry';
import { HEALTH_STATES } from '../upstream/health-state';
import type { PoolEntry } from '../upstream/transports';
import type { CallRecord } from './call-stats';
import { RecentRefusals } from './recent-refusals';

/** What the gauges read at scrape time. */
export interface MetricsSource {
  sessionFronts(): string[];
  servers(): ServerStatus[];
  pools(): PoolEntry[];
  /** Tasks the gateway holds for clients. */
  tasks(): number;
  /** Requests in flight and waiting, per server with a concurrency limit. */
  queues(): { server: string; inFlight: number; queued: number }[];
}

const PREFIX = 'mcp_gateway_';

export class GatewayMetrics {
  readonly registry = new Registry();
  /** The last refusals, beside their counters (the status page lists them). */
  readonly refusals = new RecentRefusals();
  private readonly requests: Counter<'server' | 'backend' | 'method' | 'outcome'>;
  private readonly duration: Histogram<'server' | 'backend' | 'method'>;
  private readonly tap = outputTap('metrics');
  private readonly rateLimited: Counter<'limit' | 'server'>;
  private readonly authRefusals: Counter<'reason'>;
  private readonly reloads: Counter<'result'>;
  private readonly lastReload: Gauge<'result'>;
  private readonly reloadDuration: Gauge;
  private readonly retries: Counter<'server' | 'method'>;

  constructor(source: MetricsSource) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry, prefix: PREFIX });
    this.requests = new Counter({
      name: `${PREFIX}requests_total`,
      help: 'Client requests forwarded upstream, by server, backend, method and outcome (ok, error, tool_error)',
      labelNames: ['server', 'backend', 'method', 'outcome'],
      registers,
    });
    this.duration = new Histogram({
      name: `${PREFIX}request_duration_seconds`,
      help: 'Time from forwarding a client request upstream to its response',
      labelNames: ['server', 'backend', 'method'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers,
    });
    this.authRefusals = new Counter({
      name: `${PREFIX}auth_refusals_total`,
      help: 'Client requests the door refused: no credential (missing), a malformed one (invalid_request), an unknown, expired or revoked one (invalid_token), a missing scope (insufficient_scope)',
      labelNames: ['reason'],
      registers,
    });
    this.rateLimited = new Counter({
      name: `${PREFIX}rate_limited_total`,
      help: 'Requests refused by a limit, by the rate-limit rule (or maxQueued, queueTimeoutMs) and server',
      labelNames: ['limit', 'server'],
      registers,
    });
    this.reloads = new Counter({
      name: `${PREFIX}config_reloads_total`,
      help: 'Config reloads (file change, SIGHUP, POST /admin/reload): applied, or refused (the file was invalid; the config in force stayed)',
      labelNames: ['result'],
      registers,
    });
    // both series exist from the start, so a rate() over them has a zero to start from
    for (const result of ['applied', 'refused']) this.reloads.inc({ result }, 0);
    this.lastReload = new Gauge({
      name: `${PREFIX}config_last_reload_timestamp_seconds`,
      help: 'When the last config reload of each result happened (Unix time)',
      labelNames: ['result'],
      registers,
    });
    this.reloadDuration = new Gauge({
      name: `${PREFIX}config_last_reload_duration_seconds`,
      help: 'How long the last applied config reload took, from reading the file to the new servers serving (drains of old ones not included)',
      registers,
    });
    this.retries = new Counter({
      name: `${PREFIX}retries_total`,
      help: 'Forwarded requests tried again on another backend after theirs died or was unreachable (servers.X.retry), by server and method',
      labelNames: ['server', 'method'],
      registers,
    });
    new Counter({
      name: `${PREFIX}log_lines_dropped_total`,
      help: 'Log lines this process dropped because the reader of its stderr lagged more than the log buffer (16 MiB) behind: the gateway served on',
      registers,
      collect() {
        this.reset();
        this.inc(logLinesDropped());
      },
    });
    backendSeries(
      Gauge,
      registers,
      'breaker_state',
      "A backend's circuit breaker (servers.X.breaker): 1 for the state it is in (closed, open, half-open), 0 for the others; none without a breaker",
      'state',
      source,
      (b) => b.breaker && Object.fromEntries(BREAKER_STATES.map((state) => [state, b.breaker!.state === state ? 1 : 0])),
    );
    backendGauge(registers, 'breaker_opened', "Times a backend's circuit breaker opened since the backend was added", source, (b) => b.breaker?.opened);
    queueGauge(registers, 'queued_requests', 'Requests waiting for a slot of a server with limits.maxConcurrent', source, (q) => q.queued);
    queueGauge(registers, 'concurrent_requests', 'Requests in flight to a server with limits.maxConcurrent', source, (q) => q.inFlight);
    new Gauge({
      name: `${PREFIX}sessions`,
      help: 'Open client sessions, by front',
      labelNames: ['front'],
      registers,
      collect() {
        this.reset();
        for (const front of source.sessionFronts()) this.inc({ front });
      },
    });
    new Gauge({
      name: `${PREFIX}tasks`,
      help: 'Tasks the gateway holds for its clients (at most tasks.maxTasks)',
      registers,
      collect() {
        this.set(source.tasks());
      },
    });
    backendGauge(registers, 'upstream_up', '1 when a backend is connected and serving, else 0', source, (b) => (b.state === 'ready' ? 1 : 0));
    new Gauge({
      name: `${PREFIX}backend_info`,
      help: '1 per backend that has connected, labelled with what it said it is: serverInfo name and version, protocol version, and its tools hash (12 hex digits)',
      labelNames: ['server', 'backend', 'server_name', 'server_version', 'protocol_version', 'tools_hash'],
      registers,
      collect() {
        this.reset();
        for (const s of source.servers())
          for (const b of s.backends) {
            const id = b.identity;
            if (!id) continue;
            // what an upstream says of itself is its own choice of text: one series per backend, each label bounded
            this.set(
              {
                server: s.name,
                backend: b.id,
                server_name: bounded(id.serverInfo.name),
                server_version: bounded(id.serverInfo.version),
                protocol_version: bounded(id.protocolVersion),
                tools_hash: id.toolsHash.slice(0, 12),
              },
              1,
            );
          }
      },
    });
    backendGauge(registers, 'backend_refused', '1 when its last connection was refused (protocol version, version range), else 0', source, (b) =>
      b.refused !== undefined ? 1 : 0,
    );
    backendGauge(registers, 'backend_tools_mismatch', "1 when a backend's tools differ from its replica set's, else 0", source, (b) =>
      b.identity ? (b.mismatch !== undefined ? 1 : 0) : undefined,
    );
    backendSeries(
      Counter,
      registers,
      'upstream_connections_total',
      "A backend's upstream connections by outcome: connected, lost (after it was up: a crash, an exit, a dropped socket) or failed (an attempt that did not connect); a per-session backend counts its sessions' upstreams together",
      'outcome',
      source,
      (b) => b.connections,
    );
    backendGauge(registers, 'backend_weight', "A backend's routing weight", source, (b) => b.weight);
    backendSeries(
      Gauge,
      registers,
      'upstream_health_state',
      "A backend's health from its checks: 1 for the state it is in (healthy, degraded, down), 0 for the others; none while it has no upstream (per-session, no session)",
      'state',
      source,
      (b) => b.health && Object.fromEntries(HEALTH_STATES.map((state) => [state, b.health!.state === state ? 1 : 0])),
    );
    backendGauge(
      registers,
      'upstream_health_consecutive_failures',
      'Health checks (and forwarded requests) in a row that got no answer and no traffic from the backend',
      source,
      (b) => b.health?.consecutiveFailures ?? 0,
    );
    backendSeries(
      Gauge,
      registers,
      'session_pool_sessions',
      'Upstream sessions of pooled backends (shared 2025 servers with pool), in use (a request on it) or idle',
      'state',
      source,
      (b) => b.pool && { in_use: b.pool.inUse, idle: b.pool.idle },
    );
    backendGauge(registers, 'session_pool_waiters', 'Requests waiting for a pooled upstream session', source, (b) => b.pool?.waiters);
    // the pools count; the counter shows their counts as they are at the scrape
    backendSeries(
      Counter,
      registers,
      'session_pool_leases_total',
      'Requests given a pooled upstream session: reused (one was open), created (one was opened for it), refused (pool and queue full, or the wait timed out); efficiency = reused / (reused + created)',
      'outcome',
      source,
      (b) => b.pool && { reused: b.pool.reused, created: b.pool.created, refused: b.pool.refused },
    );
    backendSeries(
      Gauge,
      registers,
      'http_pool_sockets',
      "Keep-alive connections of a backend's current Streamable HTTP upstream connection: in use (a request or a stream on it), idle, or waiting (requests queued for one)",
      'state',
      source,
      (b) => b.httpPool && { in_use: b.httpPool.inUse, idle: b.httpPool.idle, waiting: b.httpPool.waiting },
    );
    backendSeries(
      Counter,
      registers,
      'http_pool_requests_total',
      'Requests on those connections since the upstream connection was made: on a socket already open (reused) or a new one; efficiency = reused / (reused + new)',
      'socket',
      source,
      (b) => b.httpPool && { reused: b.httpPool.reused, new: b.httpPool.requests - b.httpPool.reused },
    );
    new Gauge({
      name: `${PREFIX}pool_containers`,
      help: 'Containers of per-session docker pools, warm (started ahead) or busy (serving a session)',
      labelNames: ['server', 'state'],
      registers,
      collect() {
        this.reset();
        for (const { server, pool } of source.pools()) {
          this.inc({ server, state: 'warm' }, pool.warmCount);
          this.inc({ server, state: 'busy' }, pool.busyCount);
        }
      },
    });
  }

  recordCall(call: CallRecord): void {
    this.requests.inc({ server: call.server, backend: call.backend, method: call.method, outcome: call.outcome });
    this.duration.observe({ server: call.server, backend: call.backend, method: call.method }, call.durationMs / 1000);
  }

  recordRetry(server: string, method: string): void {
    this.retries.inc({ server, method });
  }

  /** A client the door refused (why, in a word: auth/authenticator.ts AuthRefusal). */
  recordAuthRefusal(reason: string): void {
    this.authRefusals.inc({ reason });
    this.refusals.add({ kind: 'auth', reason });
  }

  /** A request refused by a limit: labels are rule and server names only (never principals), so their number is bounded by the config. */
  recordRefusal(limit: string, server: string): void {
    this.rateLimited.inc({ limit, server });
    this.refusals.add({ kind: 'limit', reason: limit, server });
  }

  /** A config reload ended: applied (taking `durationMs`) or refused. */
  recordReload(result: 'applied' | 'refused', durationMs?: number): void {
    this.reloads.inc({ result });
    this.lastReload.set({ result }, Date.now() / 1000);
    if (durationMs !== undefined) this.reloadDuration.set(durationMs / 1000);
  }

  /** The exposition text and its content type. */
  async scrape(): Promise<{ contentType: string; body: string }> {
    const body = await this.registry.metrics();
    this.tap?.(body);
    return { contentType: this.registry.contentType, body };
  }

  /** Under the output tap, one last scrape into it (at shutdown: labels no test scraped are scanned too). */
  async scrapeIntoTap(): Promise<void> {
    if (this.tap) await this.scrape();
  }
}

type BackendStatus = ServerStatus['backends'][number];

/** A gauge with one value per server and backend, read from the fleet at scrape time (none for a backend `value` gives none). */
function backendGauge(registers: Registry[], name: string, help: string, source: MetricsSource, value: (b: BackendStatus) => number | undefined): void {
  new Gauge({
    name: `${PREFIX}${name}`,
    help,
    labelNames: ['server', 'backend'],
    registers,
    collect() {
      this.reset();
      for (const s of source.servers())
        for (const b of s.backends) {
          const v = value(b);
          if (v !== undefined) this.set({ server: s.name, backend: b.id }, v);
        }
    },
  });
}

/** One series per server, backend and value of `label`, read at scrape time (none for a backend `values` gives none). */
function backendSeries(
  kind: typeof Gauge | typeof Counter,
  registers: Registry[],
  name: string,
  help: string,
  label: string,
  source: MetricsSource,
  values: (b: BackendStatus) => Record<string, number> | undefined,
): void {
  new kind({
    name: `${PREFIX}${name}`,
    help,
    labelNames: ['server', 'backend', label],
    registers,
    collect() {
      this.reset();
      for (const s of source.servers())
        for (const b of s.backends) for (const [value, n] of Object.entries(values(b) ?? {})) this.inc({ server: s.name, backend: b.id, [label]: value }, n);
    },
  });
}

/** At most 64 characters of a label value an upstream chose. */
function bounded(value: string | undefined): string {
  return (value ?? '').slice(0, 64);
}

/** A gauge with one value per server with a concurrency limit, read at scrape time. */
function queueGauge(
  registers: Registry[],
  name: string,
  help: string,
  source: MetricsSource,
  value: (q: ReturnType<MetricsSource['queues']>[number]) => number,
): void {
  new Gauge({
    name: `${PREFIX}${name}`,
    help,
    labelNames: ['server'],
    registers,
    collect() {
      this.reset();
      for (const q of source.queues()) this.set({ server: q.server }, value(q));
    },
  });
}
