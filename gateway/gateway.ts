/**
 * The composition root: builds the gateway's parts from a validated config, bottom up (transports,
 * the relay's client state, the servers, the merged views, the relay, the sessions, the fronts),
 * starts them, and stops them in order. Shutdown drains: no new sessions or requests, in-flight
 * calls finish up to the deadline, then sessions close and every upstream (process group,
 * container, socket) is stopped.
 */
import type { Logger } from 'pino';
import { LATEST_PROTOCOL_VERSION } from '@modelcontextprotocol/sdk/types.js';
import { adminRoutes } from './admin/handlers';
import { CatalogViews } from './catalog/views';
import type { GatewayConfig } from './config/schema';
import { HttpFronts } from './fronts/http-server';
import { isLoopbackHost } from './fronts/origin-guard';
import { serveStdio } from './fronts/stdio';
import { CallStats } from './metrics/call-stats';
import { GatewayMetrics } from './metrics/registry';
import { ClientDirectory } from './relay/clients';
import { ProgressRouter } from './relay/progress';
import { Relay } from './relay/relay';
import { SHARED_CLIENT_CAPABILITIES } from './relay/server-requests';
import { ServerTraffic } from './relay/server-traffic';
import { SharedUpstreamState } from './relay/shared-upstream-state';
import { ServerRegistry } from './servers/registry';
import { Sessions } from './session/sessions';
import { TransportFactory } from './upstream/transports';
import { version } from './version';

/** A started gateway; its parts are exposed for the tests and benchmarks that look inside. */
export interface RunningGateway {
  readonly registry: ServerRegistry;
  readonly sessions: Sessions;
  readonly transports: TransportFactory;
  readonly progress: ProgressRouter;
  /** Base URL of the HTTP listener (absent in stdio mode). */
  readonly url?: string;
  /** Drains and stops everything; safe to call more than once. */
  stop(): Promise<void>;
}

export interface StartOptions {
  log: Logger;
  /** Serve one client over these streams instead of listening on HTTP. */
  stdio?: { input: NodeJS.ReadableStream; output: NodeJS.WritableStream; onEnd: () => void };
}

const SERVER_INFO = { name: 'mcp-fleet-gateway', version };
const DRAIN_POLL_MS = 25;

export async function startGateway(config: GatewayConfig, options: StartOptions): Promise<RunningGateway> {
  const { log } = options;
  const transports = new TransportFactory({ instance: config.instance, dockerSocket: config.dockerSocket }, log);
  const clients = new ClientDirectory();
  const progress = new ProgressRouter();
  const shared = new SharedUpstreamState();
  // The views read the registry, whose groups report to the traffic router, which drops views: the closure breaks the circle.
  const views: CatalogViews = new CatalogViews({ groupsFor: (o) => registry.groupsFor(o), owns: (o) => registry.owns(o) }, config.nameSeparator, log);
  const registry: ServerRegistry = new ServerRegistry(config.servers, {
    transports,
    listener: new ServerTraffic({ clients, progress, shared, views, log }),
    sharedInit: () => ({ protocolVersion: LATEST_PROTOCOL_VERSION, capabilities: SHARED_CLIENT_CAPABILITIES, clientInfo: SERVER_INFO }),
    waitAtMost: (p) => waitAtMost(p, config.startup.waitForServersMs),
    log,
  });
  const stats = new CallStats();
  const metrics = new GatewayMetrics({
    sessionFronts: () => sessions.fronts,
    servers: () => registry.servers.map((p) => registry.status(p)),
    pools: () => transports.allPools,
  });
  const relay = new Relay({
    registry,
    views,
    clients,
    progress,
    shared,
    recordCall: (call) => {
      stats.record(call);
      metrics.recordCall(call);
    },
    pageSize: config.pageSize,
    logCalls: config.log.calls,
  });
  const sessions = new Sessions(relay, SERVER_INFO, log);

  let started = false;
  await transports.prepare(config.servers);
  // One slow server must not hold up the rest: serve after the startup wait whatever is connected.
  await waitAtMost(registry.start(), config.startup.waitForServersMs);
  started = true;

  const stopAll = async () => {
    await sessions.closeAll();
    await registry.stop();
    await transports.stop();
  };

  if (options.stdio) {
    serveStdio(sessions, options.stdio.input, options.stdio.output, options.stdio.onEnd);
    return { registry, sessions, transports, progress, stop: once(() => drainAndStop(sessions, undefined, stopAll, config, log)) };
  }

  const { host, port } = splitHostPort(config.listen);
  const fronts = new HttpFronts(
    {
      sessions,
      health: {
        get started() {
          return started;
        },
        get draining() {
          return sessions.draining;
        },
        sharedGroups: () => registry.sharedGroups(),
      },
      metrics,
      admin: adminRoutes({ registry, views, stats, pools: () => transports.allPools, separator: config.nameSeparator, draining: () => sessions.draining }),
    },
    {
      maxBodyBytes: config.http.maxBodyBytes,
      sessionIdleTimeoutMs: config.http.sessionIdleTimeoutMs,
      origin: { allowedOrigins: config.http.allowedOrigins, allowedHosts: config.http.allowedHosts, loopbackOnly: isLoopbackHost(host) },
      adminToken: config.admin?.token,
    },
    log,
  );
  let bound;
  try {
    bound = await fronts.listen(host, port);
  } catch (err) {
    await stopAll();
    throw err;
  }
  const url = `http://${bound.host.includes(':') ? `[${bound.host}]` : bound.host}:${bound.port}`;
  log.info(
    { url, mcp: `${url}/mcp`, sse: `${url}/sse`, ws: `${url.replace('http', 'ws')}/ws`, metrics: `${url}/metrics`, admin: config.admin ? `${url}/admin` : 'disabled', servers: config.servers.map((s) => s.name) },
    'gateway listening',
  );
  return { registry, sessions, transports, progress, url, stop: once(() => drainAndStop(sessions, fronts, stopAll, config, log)) };
}

async function drainAndStop(sessions: Sessions, fronts: HttpFronts | undefined, stopAll: () => Promise<void>, config: GatewayConfig, log: Logger): Promise<void> {
  fronts?.stopAccepting();
  sessions.drain();
  const deadline = Date.now() + config.shutdown.drainTimeoutMs;
  log.info({ inFlight: sessions.inFlightCount, drainTimeoutMs: config.shutdown.drainTimeoutMs }, 'draining');
  while (sessions.inFlightCount > 0 && Date.now() < deadline) await sleep(DRAIN_POLL_MS);
  if (sessions.inFlightCount > 0) log.warn({ inFlight: sessions.inFlightCount }, 'drain deadline passed; cancelling the calls still running');
  await stopAll();
  await fronts?.close();
  log.info('gateway stopped');
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

function waitAtMost(p: Promise<unknown>, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    void p.finally(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}
