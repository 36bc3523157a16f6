/**
 * The composition root: builds the fleet and the fronts from a validated config, starts them, and
 * stops them in order. Shutdown drains: no new sessions, in-flight calls finish up to the deadline,
 * then sessions close and every upstream (process group, socket) is stopped.
 */
import type { Logger } from 'pino';
import type { GatewayConfig } from './config/schema';
import { Fleet } from './fleet';
import { HttpFronts } from './fronts/http-server';
import { isLoopbackHost } from './fronts/origin-guard';
import { serveStdio } from './fronts/stdio';
import { version } from './version';

export interface RunningGateway {
  readonly fleet: Fleet;
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

export async function startGateway(config: GatewayConfig, options: StartOptions): Promise<RunningGateway> {
  const { log } = options;
  const fleet = new Fleet(config, { name: 'mcp-fleet-gateway', version }, log);
  await fleet.start();

  if (options.stdio) {
    serveStdio(fleet, options.stdio.input, options.stdio.output, options.stdio.onEnd);
    return { fleet, stop: once(() => drainAndStop(fleet, undefined, config, log)) };
  }

  const { host, port } = splitHostPort(config.listen);
  const fronts = new HttpFronts(
    fleet,
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
    await fleet.stop();
    throw err;
  }
  const url = `http://${bound.host.includes(':') ? `[${bound.host}]` : bound.host}:${bound.port}`;
  log.info(
    { url, mcp: `${url}/mcp`, sse: `${url}/sse`, ws: `${url.replace('http', 'ws')}/ws`, metrics: `${url}/metrics`, admin: config.admin ? `${url}/admin` : 'disabled', servers: config.servers.map((s) => s.name) },
    'gateway listening',
  );
  return { fleet, url, stop: once(() => drainAndStop(fleet, fronts, config, log)) };
}

async function drainAndStop(fleet: Fleet, fronts: HttpFronts | undefined, config: GatewayConfig, log: Logger): Promise<void> {
  fronts?.stopAccepting();
  fleet.draining = true;
  const deadline = Date.now() + config.shutdown.drainTimeoutMs;
  log.info({ inFlight: fleet.inFlightCount, drainTimeoutMs: config.shutdown.drainTimeoutMs }, 'draining');
  while (fleet.inFlightCount > 0 && Date.now() < deadline) await sleep(25);
  if (fleet.inFlightCount > 0) log.warn({ inFlight: fleet.inFlightCount }, 'drain deadline passed; cancelling the calls still running');
  await fleet.stop();
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
