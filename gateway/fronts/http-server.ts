/**
 * The one HTTP listener behind every network front: routes /mcp, /sse, /messages and /ws, applies
 * the Origin/Host guard to all of them, and answers health probes, /metrics and the admin API.
 * Errors become JSON-RPC error bodies with the matching HTTP status (the admin API's own `{ error }`
 * bodies); one bad request never affects another.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { FleetError, toFleetError } from '../protocol/errors';
import { ADMIN_PREFIX, AdminRouter, type AdminRoutes } from '../admin/router';
import { sendError } from '../http/http-util';
import type { GatewayMetrics } from '../metrics/registry';
import type { SessionOpener } from '../session/sessions';
import type { StatelessRequests } from '../session/stateless-requests';
import { answerHealth, type HealthSource } from './health';
import { LegacySseFront, SSE_MESSAGES_PATH, SSE_PATH } from './legacy-sse';
import { ModernHttpFront } from './modern-http';
import { checkOrigin, type OriginPolicy } from './origin-guard';
import { StreamableHttpFront } from './streamable-http';
import { WebSocketFront, WS_PATH } from './websocket';
import { clientJsonLimits, type FrontLimits } from './front-limits';
import { KeyedCap } from '../protocol/keyed-cap';

export const MCP_PATH = '/mcp';
export const METRICS_PATH = '/metrics';

export interface HttpFrontOptions {
  maxBodyBytes: number;
  sessionIdleTimeoutMs: number;
  /** The config's `limits:`: JSON limits, caps, send queues, HTTP timeouts, WebSocket pings. */
  limits: FrontLimits;
  origin: OriginPolicy;
  /** admin.token of the config; without it /admin/* answers 404. */
  adminToken?: string;
}

/** What the listener serves besides the MCP fronts. */
export interface HttpFrontDeps {
  sessions: SessionOpener;
  /** 2026-07-28 clients on /mcp. */
  stateless: StatelessRequests;
  health: HealthSource;
  metrics: Pick<GatewayMetrics, 'scrape'>;
  admin: AdminRoutes;
}

export class HttpFronts {
  readonly server: Server;
  readonly streamable: StreamableHttpFront;
  readonly sse: LegacySseFront;
  readonly ws: WebSocketFront;
  private readonly admin: AdminRouter;
  private accepting = true;
  /** Connections open per front: requests on /mcp, streams on /sse, sockets on /ws. */
  private readonly connections: KeyedCap;

  constructor(
    private readonly deps: HttpFrontDeps,
    private readonly options: HttpFrontOptions,
    private readonly log: Logger,
  ) {
    const { limits, maxBodyBytes } = options;
    const json = clientJsonLimits(limits);
    const sendQueueBytes = limits.sendQueueBytes;
    this.streamable = new StreamableHttpFront(
      deps.sessions,
      new ModernHttpFront(deps.stateless, log, sendQueueBytes),
      { ...options, json, sendQueueBytes },
      log,
      () => this.accepting,
    );
    this.sse = new LegacySseFront(deps.sessions, { maxBodyBytes, json, sendQueueBytes }, log);
    this.ws = new WebSocketFront(deps.sessions, { maxBodyBytes, json, sendQueueBytes, pingIntervalMs: limits.wsPingIntervalMs }, log);
    this.admin = new AdminRouter(deps.admin, { token: options.adminToken, maxBodyBytes });
    this.connections = new KeyedCap(
      limits.maxConnectionsPerFront,
      (front) => `open connections on ${front}`,
      () => 'limits.maxConnectionsPerFront',
    );
    this.server = createServer(
      {
        // Slow-loris headers and trickled or short bodies: node answers 408 (clientError below) and closes.
        headersTimeout: limits.headersTimeoutMs,
        requestTimeout: limits.requestTimeoutMs,
        // how often node looks for requests past those timeouts (its default, 30 s, would let them live that much longer)
        connectionsCheckingInterval: Math.min(1000, limits.headersTimeoutMs),
      },
      (req, res) => void this.route(req, res),
    );
    this.server.on('upgrade', (req, socket, head) => this.upgrade(req, socket, head));
    this.server.on('clientError', (err, socket) => this.refuseMalformed(err, socket));
  }

  listen(host: string, port: number): Promise<{ host: string; port: number }> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        const addr = this.server.address();
        if (addr === null || typeof addr === 'string') return reject(new Error('listener has no TCP address'));
        resolve({ host: addr.address, port: addr.port });
      });
    });
  }

  /** Stops taking new connections and sessions; open ones continue until closed. */
  stopAccepting(): void {
    this.accepting = false;
    this.server.close();
  }

  async close(): Promise<void> {
    this.stopAccepting();
    await Promise.all([this.streamable.closeAll(), this.sse.closeAll(), this.ws.closeAll()]);
    this.server.closeAllConnections();
  }

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://gateway');
    try {
      if (answerHealth(url.pathname, this.deps.health, res)) return;
      const forbidden = checkOrigin(req.headers, this.options.origin);
      if (forbidden) throw forbidden;
      if (url.pathname === MCP_PATH) {
        this.hold(MCP_PATH, res);
        return await this.streamable.handle(req, res);
      }
      if (url.pathname === METRICS_PATH) return await this.metrics(req, res);
      if (url.pathname === ADMIN_PREFIX || url.pathname.startsWith(`${ADMIN_PREFIX}/`)) {
        const refused = await this.admin.handle(req, res, url);
        if (refused)
          this.log[refused.code === 'INTERNAL' ? 'error' : 'info'](
            { method: req.method, path: url.pathname, status: refused.httpStatus, err: refused.message },
            'admin request refused',
          );
        return;
      }
      if (url.pathname === SSE_PATH && req.method === 'GET') {
        if (!this.accepting) throw new FleetError('SHUTTING_DOWN', 'the gateway is shutting down and accepts no new sessions');
        this.hold(SSE_PATH, res);
        return await this.sse.openStream(res);
      }
      if (url.pathname === SSE_MESSAGES_PATH && req.method === 'POST') return await this.sse.postMessage(req, res, url);
      throw new FleetError('METHOD_NOT_FOUND', `no route for ${req.method} ${url.pathname}; the MCP endpoints are ${MCP_PATH}, ${SSE_PATH}, ${WS_PATH}`);
    } catch (err) {
      const error = toFleetError(err);
      const level = error.code === 'INTERNAL' ? 'error' : 'info';
      this.log[level]({ method: req.method, path: url.pathname, status: error.httpStatus, code: error.code, err: error.message }, 'HTTP request refused');
      sendError(res, error, error.data?.allow ? { allow: String(error.data.allow) } : {});
    }
  }

  /** Counts the request as an open connection of `front` until its response closes; throws LIMIT_REACHED at the cap. */
  private hold(front: string, res: ServerResponse): void {
    res.once('close', this.connections.take(front));
  }

  private async metrics(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method !== 'GET') throw new FleetError('METHOD_NOT_ALLOWED', `${METRICS_PATH} answers GET only`, { data: { allow: 'GET' } });
    const { contentType, body } = await this.deps.metrics.scrape();
    res.writeHead(200, { 'content-type': contentType }).end(body);
  }

  /**
   * A request node:http could not parse (a bad request line, headers over its limit) still gets a
   * status, as the HTTP spec asks, before the connection closes; nothing of it reaches a front.
   */
  private refuseMalformed(err: NodeJS.ErrnoException, socket: Duplex): void {
    this.log.info({ code: err.code, err: err.message }, 'malformed HTTP request refused');
    if (err.code === 'ECONNRESET' || !socket.writable) return void socket.destroy();
    const status =
      err.code === 'HPE_HEADER_OVERFLOW'
        ? '431 Request Header Fields Too Large'
        : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
          ? '408 Request Timeout'
          : '400 Bad Request';
    socket.end(`HTTP/1.1 ${status}\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\n${status.slice(4)}: ${err.code ?? 'malformed request'}\n`);
  }

  private upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const url = new URL(req.url ?? '/', 'http://gateway');
    let release: () => void;
    try {
      if (url.pathname !== WS_PATH) throw new FleetError('METHOD_NOT_FOUND', `WebSocket connections go to ${WS_PATH}`);
      if (!this.accepting) throw new FleetError('SHUTTING_DOWN', 'the gateway is shutting down');
      const forbidden = checkOrigin(req.headers, this.options.origin);
      if (forbidden) throw forbidden;
      release = this.connections.take(WS_PATH);
    } catch (err) {
      const refusal = toFleetError(err);
      this.log.info({ path: url.pathname, status: refusal.httpStatus, err: refusal.message }, 'WebSocket upgrade refused');
      socket.end(`HTTP/1.1 ${refusal.httpStatus} ${refusal.code}\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\n${refusal.message}\n`);
      return;
    }
    socket.once('close', release);
    this.ws.upgrade(req, socket, head);
  }
}
