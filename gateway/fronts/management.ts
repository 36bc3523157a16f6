/**
 * The operator's endpoints, the admin API (with its live debug stream, debug-stream.ts) and /metrics: served by the public listener when the
 * config has no `management:` section (as ever), else only by the management listener, an HTTP(S)
 * server of its own on `management.listen`, and 404 on the public one. The health probes are on
 * both: load balancers probe the public port, monitoring may probe either.
 *
 * The management listener's door: TLS with required client certificates refuses a handshake
 * without one (mTLS); /admin needs the admin token or an admin principal, as everywhere; /metrics,
 * when the admin API is on, needs the same with `admin:read` (Prometheus sends it as its
 * `authorization` credential), and is open without an admin section. One that other machines can
 * reach does not start without a door unless `management.auth: none` is written out.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { ADMIN_PREFIX, type AdminRouter } from '../admin/router';
import type { GatewayConfig, ManagementSettings } from '../config/schema';
import { retryAfterHeader, sendJson } from '../http/http-util';
import type { GatewayMetrics } from '../metrics/registry';
import { FleetError, toFleetError } from '../protocol/errors';
import { listenerTimeouts, type FrontLimits } from './front-limits';
import { answerDebugStream, DEBUG_STREAM_PATH, type DebugStreamDeps } from './debug-stream';
import { answerHealth, type HealthSource } from './health';
import { answerStatusPage } from './status-page';
import { checkOrigin, isLoopbackHost, type OriginPolicy } from './origin-guard';
import { createListener, type ListenerTlsSetup, type TlsReloader } from './tls-listener';

export const METRICS_PATH = '/metrics';

/** What answers /admin/* and /metrics on whichever listener serves them. */
export interface OperatorEndpoints {
  admin: AdminRouter;
  metrics: Pick<GatewayMetrics, 'scrape'>;
  /** /metrics needs `admin:read` (the management listener with the admin API on); else it is open. */
  metricsNeedAuth: boolean;
  /** The admin API is on: the status page is served beside it (status-page.ts). */
  adminEnabled: boolean;
  /** The live traffic /admin/debug/stream follows, and what one of its subscribers may hold unread. */
  debug: Omit<DebugStreamDeps, 'admin'>;
}

/**
 * Answers /metrics and /admin/*; false for any other path. A refusal of /metrics is thrown for the
 * listener to answer; the admin API answers its own (`{ error }`).
 */
export async function answerOperator(req: IncomingMessage, res: ServerResponse, url: URL, ops: OperatorEndpoints, log: Logger): Promise<boolean> {
  if (url.pathname === METRICS_PATH) {
    if (req.method !== 'GET') throw new FleetError('METHOD_NOT_ALLOWED', `${METRICS_PATH} answers GET only`, { data: { allow: 'GET' } });
    if (ops.metricsNeedAuth) await ops.admin.permit(req, 'admin:read', `GET ${METRICS_PATH}`);
    const { contentType, body } = await ops.metrics.scrape();
    res.writeHead(200, { 'content-type': contentType }).end(body);
    return true;
  }
  if (url.pathname === DEBUG_STREAM_PATH) {
    await answerDebugStream(req, res, url, { admin: ops.admin, ...ops.debug }, log);
    return true;
  }
  if (url.pathname !== ADMIN_PREFIX && !url.pathname.startsWith(`${ADMIN_PREFIX}/`)) return false;
  if (ops.adminEnabled && answerStatusPage(req, res, url)) return true;
  const refused = await ops.admin.handle(req, res, url);
  if (refused)
    log[refused.code === 'INTERNAL' ? 'error' : 'info'](
      { method: req.method, path: url.pathname, status: refused.httpStatus, err: refused.message },
      'admin request refused',
    );
  return true;
}

/**
 * The door rule of the public listener, for the management one: reachable from other machines, it
 * needs the admin token (the admin API and /metrics then need it), principals with admin roles, or
 * required client certificates; `auth: none` opens it on purpose, with a warning.
 */
export function checkManagementDoor(config: GatewayConfig, host: string, log: Logger): void {
  const management = config.management!;
  const loopback = isLoopbackHost(host);
  const principals = config.auth !== undefined && config.auth !== 'none';
  const door = (config.admin !== undefined && (config.admin.token !== undefined || principals)) || management.tls?.clientCert === 'required';
  if (door) return;
  if (management.auth === 'none') {
    if (!loopback)
      log.warn({ listen: management.listen }, 'management.auth: none on a listener other machines can reach: anyone who reaches it reads the metrics');
    return;
  }
  if (!loopback) {
    throw new FleetError(
      'CONFIG_INVALID',
      `management.listen ${management.listen} is reachable from other machines and has no door: set admin.token, or management.tls with clientCaFile (client certificates required), or write management.auth: none to let anyone read the metrics`,
    );
  }
}

export interface ManagementOptions {
  settings: ManagementSettings;
  tls?: ListenerTlsSetup;
  /** The public listener's allowed Origins and Hosts; loopback-only follows the management address. */
  origin: Omit<OriginPolicy, 'loopbackOnly'>;
  limits: FrontLimits;
}

/** The management listener: health, /metrics and /admin/*, nothing else (404). */
export class ManagementListener {
  private readonly listener: ReturnType<typeof createListener>;
  private policy: OriginPolicy;
  private reloader: TlsReloader | undefined;

  constructor(
    private readonly ops: OperatorEndpoints,
    private readonly health: HealthSource,
    private readonly options: ManagementOptions,
    private readonly log: Logger,
  ) {
    const handler = (req: IncomingMessage, res: ServerResponse) => void this.route(req, res);
    this.listener = createListener(handler, { timeouts: listenerTimeouts(options.limits), tls: options.tls }, log);
    this.policy = { ...options.origin, loopbackOnly: true };
  }

  get scheme(): 'http' | 'https' {
    return this.options.tls ? 'https' : 'http';
  }

  async listen(host: string, port: number): Promise<{ host: string; port: number }> {
    this.policy = { ...this.options.origin, loopbackOnly: isLoopbackHost(host) };
    const bound = await this.listener.bind(host, port);
    this.reloader = bound.reloader;
    return { host: bound.host, port: bound.port };
  }

  /** Stops listening and ends every connection; the gateway calls it last, so that health and metrics see the drain. */
  close(): void {
    this.reloader?.close();
    this.listener.server.close();
    this.listener.server.closeAllConnections();
  }

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://gateway');
    try {
      if (answerHealth(url.pathname, this.health, res)) return;
      const forbidden = checkOrigin(req.headers, this.policy);
      if (forbidden) throw forbidden;
      if (await answerOperator(req, res, url, this.ops, this.log)) return;
      throw new FleetError('NOT_FOUND', `no route ${url.pathname} on the management listener; it serves ${ADMIN_PREFIX}/*, ${METRICS_PATH} and /health/*`);
    } catch (err) {
      const error = toFleetError(err);
      this.log[error.code === 'INTERNAL' ? 'error' : 'info'](
        { method: req.method, path: url.pathname, status: error.httpStatus, code: error.code, err: error.message },
        'management request refused',
      );
      if (res.headersSent) return void res.end();
      if (error.code === 'UNAUTHORIZED') res.setHeader('www-authenticate', 'Bearer');
      if (error.data?.allow) res.setHeader('allow', String(error.data.allow));
      for (const [name, value] of Object.entries(retryAfterHeader(error))) res.setHeader(name, value);
      sendJson(res, error.httpStatus, { error: error.message });
    }
  }
}
