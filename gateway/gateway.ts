/**
 * The running gateway: the core (core.ts) with real upstream transports, and the fronts before it
 * (one HTTP listener, or stdio; and the management listener when configured), started and stopped
 * in order. Shutdown drains: no new sessions or requests, in-flight calls finish up to the
 * deadline, then sessions close and every upstream (process group, container, socket) is stopped;
 * the management listener closes last. Started from a config file, it reloads that file when it
 * changes (and on reload(): SIGHUP, POST /admin/reload), see reload/reloader.ts.
 */
import type { Logger } from 'pino';
import { adminRoutes } from './admin/handlers';
import { RegistrationAllowlist } from './admin/registration';
import { DnsReplicas } from './discovery/dns-replicas';
import { DockerDiscovery } from './discovery/docker-watch';
import { AdminRouter } from './admin/router';
import { Authenticator } from './auth/authenticator';
import type { GatewayConfig, ListenerTls, StoreSettings } from './config/schema';
import { assembleCore, type GatewayCore } from './core';
import type { RedisStore } from './store/shared-store';
import { SessionRecords } from './store/session-records';
import { HttpFronts } from './fronts/http-server';
import type { TrafficEvents } from './metrics/traffic-events';
import { checkManagementDoor, ManagementListener, type OperatorEndpoints } from './fronts/management';
import { isLoopbackHost } from './fronts/origin-guard';
import { serveStdio, type StdioEnd } from './fronts/stdio';
import { clientJsonLimits } from './fronts/front-limits';
import { readTlsMaterial, type ListenerTlsSetup, type TlsMaterial } from './fronts/tls-listener';
import { CertificateExpiry } from './metrics/cert-expiry';
import type { HeldCalls } from './relay/held-calls';
import type { Listens } from './relay/listen';
import type { ProgressRouter } from './relay/progress';
import type { TaskTable } from './relay/tasks';
import type { ServerRegistry } from './servers/registry';
import type { Sessions } from './session/sessions';
import { TransportFactory } from './upstream/transports';
import { dockerClient } from './upstream/docker-client';
import { FleetError } from './protocol/errors';
import type { ReloadOutcome } from './config/diff';
import { ConfigReloader } from './reload/reloader';
import { watchConfigFile, type ConfigWatch } from './reload/watch';
import { version } from './version';
import { Profiler } from './admin/profiling';

/** A started gateway; its parts are exposed for the tests and benchmarks that look inside. */
export interface RunningGateway {
  readonly registry: ServerRegistry;
  readonly sessions: Sessions;
  readonly transports: TransportFactory;
  readonly progress: ProgressRouter;
  /** Calls held for 2026-07-28 clients' answers, and their listen streams. */
  readonly held: HeldCalls;
  readonly listens: Listens;
  /** The tasks upstreams created for clients, under the gateway's ids. */
  readonly tasks: TaskTable;
  /** Live traffic as the admin debug stream follows it (for tests). */
  readonly events: TrafficEvents;
  /** Base URL of the HTTP listener (absent in stdio mode). */
  readonly url?: string;
  /** Base URL of the management listener (absent without `management:` and in stdio mode). */
  readonly managementUrl?: string;
  /** Reads the config file again and applies what changed (CONFLICT without a config file). */
  reload(trigger: string): Promise<ReloadOutcome>;
  /** Drains and stops everything; safe to call more than once. */
  stop(): Promise<void>;
}

export interface StartOptions {
  log: Logger;
  /** Serve one client over these streams instead of listening on HTTP; `onEnd` when it is gone (stdin closed, or dropped for not reading). */
  stdio?: { input: NodeJS.ReadableStream; output: NodeJS.WritableStream; onEnd: (why: StdioEnd) => void };
  /** The file `config` was read from (and the command line's overrides of it): watched, and reloaded on reload(). */
  configFile?: { path: string; overrides: { listen?: string } };
}

const DRAIN_POLL_MS = 25;

export async function startGateway(config: GatewayConfig, options: StartOptions): Promise<RunningGateway> {
  const { log } = options;
  // a missing or unusable certificate stops startup before any server is started
  const tlsMaterial = config.tls && !options.stdio ? await readTlsMaterial(config.tls) : undefined;
  const managementTls = config.management?.tls && !options.stdio ? await readTlsMaterial(config.management.tls, 'management.tls') : undefined;
  const certificates = new CertificateExpiry();
  const transports = new TransportFactory({ instance: config.instance, dockerSocket: config.dockerSocket }, log, (server, { ca, cert }) => {
    certificates.set('upstream_ca', server, ca);
    certificates.set('upstream_client', server, cert);
  });
  // Shared with the other replicas behind the load balancer: the sessions' records and the rate-limit buckets.
  const store = config.store?.redis && !options.stdio ? openStore(config.store.redis, log.child({ component: 'store' })) : undefined;
  const core = assembleCore(config, transports, log, store);
  const { registry, sessions, progress, held, listens, tasks } = core;
  certificates.register(core.metrics.registry, (name) => {
    const server = registry.find(name)?.config;
    return server?.kind === 'remote' && server.tls !== undefined;
  });
  await transports.prepare(config.servers);
  await core.start();
  const allowlist = new RegistrationAllowlist(config.admin?.register ?? { commands: [], images: [], urls: [], paths: [] });
  // what runs already is registered before the first client is let in
  const discovery = config.discovery?.docker
    ? new DockerDiscovery(config.discovery.docker, {
        docker: dockerClient(config.dockerSocket),
        registry,
        allowlist,
        log: log.child({ component: 'discovery' }),
      })
    : undefined;
  const dnsReplicas = new DnsReplicas({ registry, log: log.child({ component: 'dns-replicas' }) });
  await Promise.all([discovery?.start(), dnsReplicas.start()]);
  // the network fronts' client authentication (stdio serves its one local client as it is)
  const door = options.stdio ? undefined : new Authenticator(config.auth, log, (reason) => core.metrics.recordAuthRefusal(reason));
  const reloading = startReloading(config, core, door, options, discovery);
  const stopAll = async () => {
    reloading.watch?.close();
    await Promise.all([discovery?.stop(), dnsReplicas.stop()]);
    await core.stop();
    await transports.stop();
    await store?.close();
    reloading.reloader?.close();
  };
  const reload = reloading.reload;
  const common = { registry, sessions, transports, progress, held, listens, tasks, events: core.events, reload };

  if (options.stdio) {
    serveStdio(sessions, options.stdio, { json: clientJsonLimits(config.limits), sendQueueBytes: config.limits.sendQueueBytes });
    return { ...common, stop: once(() => drainAndStop(core, undefined, stopAll, config, log)) };
  }

  const auth = door!;
  const { host, port } = splitHostPort(config.listen);
  const management = config.management && splitHostPort(config.management.listen);
  try {
    checkListenerAuth(config, host, log);
    if (management) checkManagementDoor(config, management.host, log);
  } catch (err) {
    auth.close();
    await stopAll();
    throw err;
  }
  const records = store ? new SessionRecords(store, config.http.sessionIdleTimeoutMs, log) : undefined;
  const operator: OperatorEndpoints = {
    admin: new AdminRouter(
      adminRoutes({
        registry,
        allowlist,
        apiKeys: auth.apiKeys,
        audit: (principal, what, details) => log.info({ principal: principal.id, ...details }, `admin: ${what}`),
        views: core.views,
        stats: core.stats,
        pools: () => transports.allPools,
        discovered: () => discovery?.containers(),
        separator: config.nameSeparator,
        draining: () => sessions.draining,
        reload: reloading.reloader && reload,
        refusals: () => core.metrics.refusals.list(),
        sessions: () => sessions.list(),
        profiler: new Profiler(),
        info: { version, startedAt: new Date().toISOString(), ...(config.admin?.temporalUi ? { temporalUi: config.admin.temporalUi } : {}) },
      }),
      { enabled: config.admin !== undefined, token: config.admin?.token, auth, maxBodyBytes: config.http.maxBodyBytes },
    ),
    metrics: core.metrics,
    metricsNeedAuth: config.management !== undefined && config.admin !== undefined,
    adminEnabled: config.admin !== undefined,
    debug: { events: core.events, maxBufferedBytes: config.limits.sendQueueBytes },
  };
  const health = {
    get started() {
      return core.started;
    },
    get draining() {
      return sessions.draining;
    },
    sharedGroups: () => registry.sharedGroups(),
  };
  const fronts = new HttpFronts(
    {
      sessions,
      stateless: core.stateless,
      health,
      operator: config.management ? undefined : operator,
      auth,
      policyScopes: core.policy.requiredScopes,
      records,
    },
    {
      maxBodyBytes: config.http.maxBodyBytes,
      sessionIdleTimeoutMs: config.http.sessionIdleTimeoutMs,
      limits: config.limits,
      origin: { allowedOrigins: config.http.allowedOrigins, allowedHosts: config.http.allowedHosts, loopbackOnly: isLoopbackHost(host) },
      tls: config.tls && tlsMaterial ? listenerTls(config.tls, tlsMaterial, 'public', certificates) : undefined,
    },
    log,
  );
  const managed =
    config.management &&
    new ManagementListener(
      operator,
      health,
      {
        settings: config.management,
        tls: config.management.tls && managementTls ? listenerTls(config.management.tls, managementTls, 'management', certificates) : undefined,
        origin: { allowedOrigins: config.http.allowedOrigins, allowedHosts: config.http.allowedHosts },
        limits: config.limits,
      },
      log,
    );
  let bound;
  let managementUrl: string | undefined;
  try {
    bound = await fronts.listen(host, port);
    if (managed && management) managementUrl = baseUrl(managed.scheme, await managed.listen(management.host, management.port));
  } catch (err) {
    managed?.close();
    await fronts.close();
    auth.close();
    await stopAll();
    throw err;
  }
  const url = baseUrl(fronts.scheme, bound);
  const operatorUrl = managementUrl ?? url;
  log.info(
    {
      url,
      mcp: `${url}/mcp`,
      sse: `${url}/sse`,
      ws: `${url.replace('http', 'ws')}/ws`,
      metrics: `${operatorUrl}/metrics`,
      admin: config.admin ? `${operatorUrl}/admin` : 'disabled',
      ...(managementUrl && { management: managementUrl }),
      servers: config.servers.map((s) => s.name),
      auth: authMethods(config),
      // what it logs from now on: an operator (and the dev stack's test) sees the level took effect
      logLevel: log.level,
    },
    'gateway listening',
  );
  return {
    ...common,
    url,
    managementUrl,
    stop: once(() =>
      drainAndStop(core, fronts, stopAll, config, log).finally(() => {
        // last: health and metrics report the drain until the end
        managed?.close();
        auth.close();
      }),
    ),
  };
}

/** A listener's TLS setup, its certificate and client CA in the certificate-expiry gauge under `name`. */
function listenerTls(settings: ListenerTls, material: TlsMaterial, name: string, certificates: CertificateExpiry): ListenerTlsSetup {
  return {
    settings,
    material,
    loaded: ({ cert, ca }) => {
      certificates.set('server', name, cert);
      certificates.set('client_ca', name, ca);
    },
  };
}

/** The reloader of the config file, and its watch, when the gateway was started from a file. */
/**
 * The store shared with the other replicas (`store.redis`). Loaded only then: @redis/client is 478
 * files and 4.5 MB of heap that a gateway without a shared store never needs.
 */
function openStore(settings: NonNullable<StoreSettings['redis']>, log: Logger): RedisStore {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { RedisStore } = require('./store/shared-store') as typeof import('./store/shared-store');
  return new RedisStore(settings, log);
}

function startReloading(
  config: GatewayConfig,
  core: GatewayCore,
  auth: Authenticator | undefined,
  options: StartOptions,
  discovery: DockerDiscovery | undefined,
): { reloader?: ConfigReloader; watch?: ConfigWatch; reload: (trigger: string) => Promise<ReloadOutcome> } {
  const { configFile, log } = options;
  if (!configFile) {
    return { reload: () => Promise.reject(new FleetError('CONFLICT', 'this gateway was not started from a config file; there is nothing to reload')) };
  }
  const reloader = new ConfigReloader(config, {
    file: configFile.path,
    overrides: configFile.overrides,
    registry: core.registry,
    policy: core.policy,
    rateLimits: core.rateLimits,
    apiKeys: auth?.apiKeys,
    stats: core.stats,
    listsChanged: () => core.listsChanged(),
    metrics: core.metrics,
    observability: core,
    log: log.child({ component: 'reload' }),
    draining: () => core.sessions.draining,
  });
  const reload = async (trigger: string) => {
    const outcome = await reloader.reload(trigger);
    // a removed or re-made server lost the backends discovery gave it: its running containers join again (in the background, as on their events)
    if (outcome.result === 'applied' && [outcome.servers.added, outcome.servers.removed, outcome.servers.changed].some((names) => names.length > 0))
      void discovery?.resync();
    return outcome;
  };
  const watch = config.reload.watch ? watchConfigFile(configFile.path, () => void reload('file changed'), log, config.reload.debounceMs) : undefined;
  return { reloader, watch, reload };
}

async function drainAndStop(
  core: GatewayCore,
  fronts: HttpFronts | undefined,
  stopAll: () => Promise<void>,
  config: GatewayConfig,
  log: Logger,
): Promise<void> {
  fronts?.stopAccepting();
  core.sessions.drain();
  // a listen stream never ends by itself: it gets its final result now, so only real calls are waited for
  core.listens.endAll();
  const inFlight = () => core.sessions.inFlightCount + core.stateless.inFlightCount;
  const deadline = Date.now() + config.shutdown.drainTimeoutMs;
  log.info({ inFlight: inFlight(), drainTimeoutMs: config.shutdown.drainTimeoutMs }, 'draining');
  while (inFlight() > 0 && Date.now() < deadline) await sleep(DRAIN_POLL_MS);
  if (inFlight() > 0) log.warn({ inFlight: inFlight() }, 'drain deadline passed; cancelling the calls still running');
  await stopAll();
  await fronts?.close();
  log.info('gateway stopped');
}

/**
 * A listener others can reach needs a door: without `auth` it does not start; `auth: none` opens it
 * on purpose, with a warning. A loopback listener without auth stays open for local development.
 */
function checkListenerAuth(config: GatewayConfig, host: string, log: Logger): void {
  const loopback = isLoopbackHost(host);
  if (config.auth === undefined && !loopback) {
    throw new FleetError(
      'CONFIG_INVALID',
      `listen ${config.listen} is reachable from other machines, and the config names no client authentication: set auth (oauth, apiKeys or mtls), or write auth: none to let anyone in`,
    );
  }
  if (config.auth === 'none' && !loopback)
    log.warn({ listen: config.listen }, 'auth: none on a listener other machines can reach: anyone who reaches it can use every tool');
  else if (config.auth === undefined || config.auth === 'none')
    log.warn({ listen: config.listen }, 'no client authentication: every local process can use every tool');
}

function authMethods(config: GatewayConfig): string[] | 'none' {
  const auth = config.auth;
  if (auth === undefined || auth === 'none') return 'none';
  return (['oauth', 'apiKeys', 'mtls'] as const).filter((m) => auth[m] !== undefined);
}

function baseUrl(scheme: string, bound: { host: string; port: number }): string {
  return `${scheme}://${bound.host.includes(':') ? `[${bound.host}]` : bound.host}:${bound.port}`;
}

export function splitHostPort(listen: string): { host: string; port: number } {
  const i = listen.lastIndexOf(':');
  return { host: listen.slice(0, i).replace(/^\[|\]$/g, ''), port: Number(listen.slice(i + 1)) };
}

function once(fn: () => Promise<void>): () => Promise<void> {
  let p: Promise<void> | undefined;
  return () => (p ??= fn());
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
