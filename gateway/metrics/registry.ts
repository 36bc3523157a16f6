/**
 * The gateway's Prometheus metrics, in a registry of its own (two gateways in one process do not
 * share counters). Request counters and durations are recorded as calls end; gauges for sessions,
 * upstreams, weights, container pools and held tasks are read from the fleet when Prometheus scrapes.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { ServerStatus } from '../servers/registry';
import type { PoolEntry } from '../upstream/transports';
import type { CallRecord } from './call-stats';

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
  private readonly requests: Counter<'server' | 'backend' | 'method' | 'outcome'>;
  private readonly duration: Histogram<'server' | 'backend' | 'method'>;
  private readonly rateLimited: Counter<'limit' | 'server'>;

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
    this.rateLimited = new Counter({
      name: `${PREFIX}rate_limited_total`,
      help: 'Requests refused by a limit, by the rate-limit rule (or maxQueued, queueTimeoutMs) and server',
      labelNames: ['limit', 'server'],
      registers,
    });
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
    backendGauge(registers, 'backend_weight', "A backend's routing weight", source, (b) => b.weight);
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

  /** A request refused by a limit: labels are rule and server names only (never principals), so their number is bounded by the config. */
  recordRefusal(limit: string, server: string): void {
    this.rateLimited.inc({ limit, server });
  }

  /** The exposition text and its content type. */
  async scrape(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}

/** A gauge with one value per server and backend, read from the fleet at scrape time. */
function backendGauge(registers: Registry[], name: string, help: string, source: MetricsSource, value: (b: ServerStatus['backends'][number]) => number): void {
  new Gauge({
    name: `${PREFIX}${name}`,
    help,
    labelNames: ['server', 'backend'],
    registers,
    collect() {
      this.reset();
      for (const s of source.servers()) for (const b of s.backends) this.set({ server: s.name, backend: b.id }, value(b));
    },
  });
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
