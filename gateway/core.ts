/**
 * The gateway without its fronts: the servers, the merged views, the relay and the sessions, wired
 * bottom up from a validated config and a source of upstream transports. The running gateway
 * (gateway.ts) puts fronts before it; tests put an in-memory front and in-memory upstreams.
 */
import { LATEST_PROTOCOL_VERSION } from '@modelcontextprotocol/sdk/types.js';
import type { Logger } from 'pino';
import { Policy } from './auth/policy';
import { PermittedViews } from './catalog/permitted';
import { CatalogViews } from './catalog/views';
import type { GatewayConfig } from './config/schema';
import type { TracingSettings } from './config/tracing-schema';
import { CallStats } from './metrics/call-stats';
import { GatewayMetrics } from './metrics/registry';
import { TraceMetrics } from './metrics/trace-metrics';
import { randomUUID } from 'node:crypto';
import { ClientDirectory } from './relay/clients';
import { ConcurrencyGates } from './relay/concurrency-gates';
import { HeldCalls } from './relay/held-calls';
import { Listens } from './relay/listen';
import { ProgressRouter } from './relay/progress';
import { RateLimits } from './relay/rate-limits';
import { SharedBuckets } from './relay/shared-buckets';
import { Relay } from './relay/relay';
import { RequestStateSealer } from './relay/request-state';
import { SHARED_CLIENT_CAPABILITIES } from './relay/server-requests';
import { ServerTraffic } from './relay/server-traffic';
import { SharedUpstreamState } from './relay/shared-upstream-state';
import { TaskInputs } from './relay/task-questions';
import { TaskTable } from './relay/tasks';
import { LIST_KINDS } from './servers/lists';
import { ServerRegistry } from './servers/registry';
import { Sessions } from './session/sessions';
import { StatelessRequests } from './session/stateless-requests';
import { RedisBuckets } from './store/redis-buckets';
import type { RedisStore } from './store/shared-store';
import { TracingSwitch } from './tracing/tracing-switch';
import type { UpstreamTransports } from './upstream/transports';
import { version } from './version';
import { TrafficEvents } from './metrics/traffic-events';

export const SERVER_INFO = { name: 'mcp-fleet-gateway', version };

export interface GatewayCore {
  readonly registry: ServerRegistry;
  readonly views: CatalogViews;
  /** Who may use what (config `policy`). */
  readonly policy: Policy;
  /** The `rateLimits` rules. */
  readonly rateLimits: RateLimits;
  /** Tells every client that its lists may differ (after the policy was replaced). */
  listsChanged(): void;
  readonly sessions: Sessions;
  /** 2026-07-28 clients, one request at a time. */
  readonly stateless: StatelessRequests;
  readonly progress: ProgressRouter;
  /** Calls held for modern clients' answers, and their listen streams (for tests and leak checks). */
  readonly held: HeldCalls;
  readonly listens: Listens;
  /** The tasks upstreams created for clients (for tests and leak checks). */
  readonly tasks: TaskTable;
  readonly stats: CallStats;
  /** Live traffic for the admin debug stream. */
  readonly events: TrafficEvents;
  readonly metrics: GatewayMetrics;
  /** A reload's new `tracing`: the export starts, stops or changes for the calls from now on. */
  replaceTracing(settings: TracingSettings): void;
  /** A reload's new `log.calls`: the calls from now on write their `call` line, or not. */
  setCallLog(on: boolean): void;
  /** True once every shared server had its first connection attempt (or the startup wait ran out). */
  readonly started: boolean;
  /** Connects the servers; resolves after their first attempts, or after `startup.waitForServersMs`. */
  start(): Promise<void>;
  /** Closes every session, then every upstream. */
  stop(): Promise<void>;
}

/** `store`: what the replicas share (store.redis), for the rate-limit buckets when `rateLimits.shared` says so. */
export function assembleCore(config: GatewayConfig, transports: UpstreamTransports, log: Logger, store?: RedisStore): GatewayCore {
  const clients = new ClientDirectory();
  const progress = new ProgressRouter();
  const shared = new SharedUpstreamState();
  const held = new HeldCalls(config.stateless.maxHeldCalls, config.stateless.requestStateTtlMs);
  const listens = new Listens(config.stateless.maxListenStreams);
  const tasks = new TaskTable(config.tasks);
  const taskInputs = new TaskInputs(tasks, listens);
  if (config.stateless.stateKeys.length === 0) {
    log.info(
      'no stateless.stateKeys: the requestState of multi-round-trip requests is sealed with a key of this process, so a retry must come back to this instance',
    );
  }
  const waitForServers = (p: Promise<unknown>) => waitAtMost(p, config.startup.waitForServersMs);
  // The views read the registry, whose groups report to the traffic router, which drops views: the closure breaks the circle.
  const views: CatalogViews = new CatalogViews({ groupsFor: (r) => registry.groupsFor(r), viewKey: (r) => registry.viewKey(r) }, config.nameSeparator, log);
  const events = new TrafficEvents();
  const traffic = new ServerTraffic({ clients, progress, shared, views, listens, tasks, taskInputs, events, log });
  const registry: ServerRegistry = new ServerRegistry(config.servers, {
    transports,
    listener: traffic,
    sharedInit: () => ({ protocolVersion: LATEST_PROTOCOL_VERSION, capabilities: SHARED_CLIENT_CAPABILITIES, clientInfo: SERVER_INFO }),
    waitAtMost: waitForServers,
    principalIdleTimeoutMs: config.limits.principalIdleTimeoutMs,
    upstreamsEnded: (name, cause, survives) => {
      const ended = tasks.endServer(name, cause, survives);
      if (ended > 0) log.info({ server: name, cause, tasks: ended }, 'tasks ended with their upstream connections');
    },
    log,
  });
  const stats = new CallStats();
  const policy = new Policy(config.policy);
  const rateLimits = new RateLimits(config.rateLimits, rateBuckets(config, store, log));
  const gates = new ConcurrencyGates();
  const metrics = new GatewayMetrics({
    sessionFronts: () => sessions.fronts,
    servers: () => registry.servers.map((p) => registry.status(p)),
    pools: () => transports.allPools,
    tasks: () => tasks.size,
    queues: () => gates.status(),
  });
  // one id for this process: its stateless requestState and its spans' service.instance.id
  const instance = randomUUID();
  const tracing = new TracingSwitch({
    instance,
    counter: (pending): TraceMetrics => new TraceMetrics(metrics.registry, pending),
    log: log.child({ component: 'tracing' }),
  });
  tracing.apply(config.tracing);
  const relay = new Relay({
    registry,
    views,
    policy,
    permitted: new PermittedViews(policy),
    clients,
    progress,
    shared,
    tasks,
    taskInputs,
    limits: { rate: rateLimits, gates, refused: (limit, server) => metrics.recordRefusal(limit, server) },
    recordCall: (call) => {
      stats.record(call);
      metrics.recordCall(call);
    },
    recordRetry: (server, method) => metrics.recordRetry(server, method),
    pageSize: config.pageSize,
    logCalls: config.log.calls,
    tracer: tracing.tracer,
    events,
    stateless: {
      sealer: new RequestStateSealer(config.stateless.stateKeys, config.stateless.requestStateTtlMs),
      held,
      listens,
      instance,
      serverInfo: SERVER_INFO,
      cache: config.stateless.cache,
    },
    log,
  });
  const sessions = new Sessions(relay, SERVER_INFO, log, events, config.limits);
  const stateless = new StatelessRequests(relay, () => sessions.draining, log);
  let started = false;
  return {
    registry,
    views,
    policy,
    rateLimits,
    listsChanged: () => traffic.everyListChanged(LIST_KINDS),
    replaceTracing(settings) {
      tracing.apply(settings);
      relay.observe({ tracer: tracing.tracer });
    },
    setCallLog(on) {
      relay.observe({ logCalls: on });
    },
    sessions,
    stateless,
    progress,
    held,
    listens,
    tasks,
    stats,
    metrics,
    events,
    get started() {
      return started;
    },
    async start() {
      // One slow server must not hold up the rest: serve after the startup wait whatever is connected.
      await waitForServers(registry.start());
      started = true;
    },
    async stop() {
      await metrics.scrapeIntoTap();
      listens.endAll();
      held.abandonAll();
      taskInputs.closeAll();
      await sessions.closeAll();
      await registry.stop();
      // last: the spans of calls that ended while the sessions closed go out too
      await tracing.stop();
    },
  };
}

/** Resolves when `p` settles or after `ms`, whichever comes first. */
function waitAtMost(p: Promise<unknown>, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    void p.finally(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/** The replicas' shared buckets, falling back to this replica's own; undefined: this replica's own only. */
function rateBuckets(config: GatewayConfig, store: RedisStore | undefined, log: Logger): SharedBuckets | undefined {
  if (!config.rateLimits.shared || !store) return undefined;
  return new SharedBuckets(new RedisBuckets(store), config.rateLimits.maxBuckets, log.child({ component: 'rate-limits' }));
}
