/**
 * The running gateway: the core (core.ts) with real upstream transports, and the fronts before it
 * (one HTTP listener, or stdio), started and stopped in order. Shutdown drains: no new sessions or
 * requests, in-flight calls finish up to the deadline, then sessions close and every upstream
 * (process group, container, socket) is stopped.
 */
import type { Logger } from 'pino';
import { adminRoutes } from './admin/handlers';
import type { GatewayConfig } from './config/schema';
import { assembleCore, type GatewayCore } from './core';
import { HttpFronts } from './fronts/http-server';
import { isLoopbackHost } from './fronts/origin-guard';
import { serveStdio } from './fronts/stdio';
import { clientJsonLimits } from './fronts/front-limits';
import type { HeldCalls } from './relay/held-calls';
import type { Listens } from './relay/listen';
import type { ProgressRouter } from './relay/progress';
import type { TaskTable } from './relay/tasks';
import type { ServerRegistry } from './servers/registry';
import type { Sessions } from './session/sessions';
import { TransportFactory } from './upstream/transports';

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

const DRAIN_POLL_MS = 25;

export async function startGateway(config: GatewayConfig, options: StartOptions): Promise<RunningGateway> {
  const { log } = options;
  const transports = new TransportFactory({ instance: config.instance, dockerSocket: config.dockerSocket }, log);
  const core = assembleCore(config, transports, log);
  const { registry, sessions, progress, held, listens, tasks } = core;
  await transports.prepare(config.servers);
  await core.start();
  const stopAll = async () => {
    await core.stop();
    await transports.stop();
  };

  if (options.stdio) {
    serveStdio(sessions, options.stdio.input, options.stdio.output, options.stdio.onEnd, clientJsonLimits(config.limits));
    return { registry, sessions, transports, progress, held, listens, tasks, stop: once(() => drainAndStop(core, undefined, stopAll, config, log)) };
  }

  const { host, port } = splitHostPort(config.listen);
  const fronts = new HttpFronts(
    {
      sessions,
      stateless: core.stateless,
      health: {
        get started() {
          return core.started;
        },
        get draining() {
          return sessions.draining;
        },
        sharedGroups: () => registry.sharedGroups(),
      },
      metrics: core.metrics,
      admin: adminRoutes({
        registry,
        views: core.views,
        stats: core.stats,
        pools: () => transports.allPools,
        separator: config.nameSeparator,
        draining: () => sessions.draining,
      }),
    },
    {
      maxBodyBytes: config.http.maxBodyBytes,
      sessionIdleTimeoutMs: config.http.sessionIdleTimeoutMs,
      limits: config.limits,
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
    {
      url,
      mcp: `${url}/mcp`,
      sse: `${url}/sse`,
      ws: `${url.replace('http', 'ws')}/ws`,
      metrics: `${url}/metrics`,
      admin: config.admin ? `${url}/admin` : 'disabled',
      servers: config.servers.map((s) => s.name),
      // what it logs from now on: an operator (and the dev stack's test) sees the level took effect
      logLevel: log.level,
    },
    'gateway listening',
  );
  return { registry, sessions, transports, progress, held, listens, tasks, url, stop: once(() => drainAndStop(core, fronts, stopAll, config, log)) };
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
