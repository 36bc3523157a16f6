/**
 * The one HTTP listener behind every network front: routes /mcp, /sse, /messages and /ws, applies
 * the Origin/Host guard and then client authentication to all of them (each request, and each
 * WebSocket upgrade, is someone's: the fronts get the principal), serves the protected resource
 * metadata, and answers health probes, and /metrics and the admin API unless the management
 * listener serves those (management.ts; then they are 404 here).
 * Errors become JSON-RPC error bodies with the matching HTTP status (the admin API's own `{ error }`
 * bodies); one bad request never affects another. Every response carries X-Request-Id: the client's,
 * when it is usable (protocol/request-id.ts), else one made here; the fronts bind it to the log
 * lines of the requests it carried and forward it upstream. With `tls` the listener is HTTPS (and WSS) for all
 * of them, its certificate reloaded when its files change (tls-listener.ts).
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { RESOURCE_METADATA_PATH, type Authenticator } from '../auth/authenticator';
import { clientCertificateIdentity } from '../auth/client-cert';
import type { Principal } from '../auth/principal';
import { FleetError, toFleetError } from '../protocol/errors';
import { retryAfterHeader, sendError } from '../http/http-util';
import { isResponse, type JsonRpcMessage } from '../protocol/jsonrpc';
import type { SessionOpener } from '../session/sessions';
import type { StatelessRequests } from '../session/stateless-requests';
import { answerHealth, type HealthSource } from './health';
import { LegacySseFront, SSE_MESSAGES_PATH, SSE_PATH } from './legacy-sse';
import { ModernHttpFront } from './modern-http';
import { checkOrigin, type OriginPolicy } from './origin-guard';
import { StreamableHttpFront } from './streamable-http';
import { createListener, type ListenerTlsSetup, type TlsReloader } from './tls-listener';
import { WebSocketFront, WS_PATH } from './websocket';
import { clientJsonLimits, listenerTimeouts, type FrontLimits } from './front-limits';
import { answerOperator, type OperatorEndpoints } from './management';
import { KeyedCap } from '../protocol/keyed-cap';
import { acceptRequestId, REQUEST_ID_HEADER } from '../protocol/request-id';
import type { SessionRecords } from '../store/session-records';

export const MCP_PATH = '/mcp';

export interface HttpFrontOptions {
  maxBodyBytes: number;
  sessionIdleTimeoutMs: number;
  /** The config's `limits:`: JSON limits, caps, send queues, HTTP timeouts, WebSocket pings. */
  limits: FrontLimits;
  origin: OriginPolicy;
  /** HTTPS and WSS: the `tls:` settings and their files' contents as read at startup. */
  tls?: ListenerTlsSetup;
}

/** What the listener serves besides the MCP fronts. */
export interface HttpFrontDeps {
  sessions: SessionOpener;
  /** 2026-07-28 clients on /mcp. */
  stateless: StatelessRequests;
  health: HealthSource;
  /** The admin API and /metrics; absent when the management listener serves them (404 here). */
  operator?: OperatorEndpoints;
  /** Who sent a request; ANONYMOUS for everyone when the gateway authenticates nobody. */
  auth: Authenticator;
  /** Scopes the policy asks for somewhere, advertised in the resource metadata. */
  policyScopes: readonly string[];
  /** 2025 sessions as the replicas behind a load balancer share them (store.redis). */
  records?: SessionRecords;
}

export class HttpFronts {
  readonly server: Server;
  readonly streamable: StreamableHttpFront;
  readonly sse: LegacySseFront;
  readonly ws: WebSocketFront;
  /** The protected resource metadata (RFC 9728) as served, and where (both fixed by the config); none without OAuth. */
  private readonly metadata: { body: string; url: string } | undefined;
  private readonly bind: ReturnType<typeof createListener>['bind'];
  private reloader: TlsReloader | undefined;
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
    const refusalStatus = (message: JsonRpcMessage) => this.refusalStatus(message);
    this.streamable = new StreamableHttpFront(
      deps.sessions,
      new ModernHttpFront(deps.stateless, log, sendQueueBytes, refusalStatus),
      { ...options, json, sendQueueBytes, refusalStatus, records: deps.records },
      log,
      () => this.accepting,
    );
    this.sse = new LegacySseFront(deps.sessions, { maxBodyBytes, json, sendQueueBytes }, log);
    this.ws = new WebSocketFront(deps.sessions, { maxBodyBytes, json, sendQueueBytes, pingIntervalMs: limits.wsPingIntervalMs }, log);
    const doc = deps.auth.resourceMetadata(deps.policyScopes);
    // RFC 9728 §3.1: the metadata of resource https://host/mcp is at https://host/.well-known/oauth-protected-resource/mcp
    const resource = doc && new URL(String(doc.resource));
    this.metadata = resource && {
      body: JSON.stringify(doc),
      url: `${resource.origin}${RESOURCE_METADATA_PATH}${resource.pathname === '/' ? '' : resource.pathname}`,
    };
    this.connections = new KeyedCap(
      limits.maxConnectionsPerFront,
      (front) => `open connections on ${front}`,
      () => 'limits.maxConnectionsPerFront',
    );
    const handler = (req: IncomingMessage, res: ServerResponse) => void this.route(req, res);
    ({ server: this.server, bind: this.bind } = createListener(handler, { timeouts: listenerTimeouts(limits), tls: options.tls }, log));
    this.server.on('upgrade', (req, socket, head) => void this.upgrade(req, socket, head));
    this.server.on('clientError', (err, socket) => this.refuseMalformed(err, socket));
  }

  /** http: or https:, as clients reach the listener. */
  get scheme(): 'http' | 'https' {
    return this.options.tls ? 'https' : 'http';
  }

  async listen(host: string, port: number): Promise<{ host: string; port: number }> {
    const bound = await this.bind(host, port);
    this.reloader = bound.reloader;
    return { host: bound.host, port: bound.port };
  }

  /** Stops taking new connections and sessions; open ones continue until closed. */
  stopAccepting(): void {
    this.accepting = false;
    this.reloader?.close();
    this.server.close();
  }

  async close(): Promise<void> {
    this.stopAccepting();
    await Promise.all([this.streamable.closeAll(), this.sse.closeAll(), this.ws.closeAll()]);
    this.server.closeAllConnections();
  }

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    // /mcp asked for as is, the hot path, needs no URL parser (new URL is the gateway's largest own
    // cost per request in a CPU profile of bench:overhead); every other path is parsed
    const url = req.url === MCP_PATH ? undefined : new URL(req.url ?? '/', 'http://gateway');
    const path = url ? url.pathname : MCP_PATH;
    const requestId = this.requestId(req, path);
    res.setHeader(REQUEST_ID_HEADER, requestId);
    try {
      if (answerHealth(path, this.deps.health, res)) return;
      const forbidden = checkOrigin(req.headers, this.options.origin);
      if (forbidden) throw forbidden;
      if (path === RESOURCE_METADATA_PATH || path.startsWith(`${RESOURCE_METADATA_PATH}/`)) return this.resourceMetadata(req, res);
      if (!url || path === MCP_PATH) {
        const principal = await this.authenticate(req);
        this.hold(MCP_PATH, res);
        return await this.streamable.handle(req, res, principal, requestId);
      }
      if (this.deps.operator && (await answerOperator(req, res, url, this.deps.operator, this.log))) return;
      if (path === SSE_PATH && req.method === 'GET') {
        if (!this.accepting) throw new FleetError('SHUTTING_DOWN', 'the gateway is shutting down and accepts no new sessions');
        const principal = await this.authenticate(req);
        this.hold(SSE_PATH, res);
        return await this.sse.openStream(res, principal, requestId);
      }
      if (path === SSE_MESSAGES_PATH && req.method === 'POST') return await this.sse.postMessage(req, res, url, await this.authenticate(req), requestId);
      throw new FleetError('METHOD_NOT_FOUND', `no route for ${req.method} ${path}; the MCP endpoints are ${MCP_PATH}, ${SSE_PATH}, ${WS_PATH}`);
    } catch (err) {
      const error = toFleetError(err);
      const level = error.code === 'INTERNAL' ? 'error' : 'info';
      this.log[level]({ requestId, method: req.method, path, status: error.httpStatus, code: error.code, err: error.message }, 'HTTP request refused');
      sendError(res, error, this.refusalHeaders(error));
    }
  }

  /**
   * The refusals of a served request that HTTP shows, whatever front layer refused it: a scope the
   * token lacks is 403 with the challenge (MCP step-up); a rate limit is 429 with Retry-After, so
   * HTTP clients and proxies can back off without reading the body.
   */
  private refusalStatus(message: JsonRpcMessage): { status: number; headers: Record<string, string> } | undefined {
    if (!isResponse(message) || !('error' in message)) return undefined;
    const data = message.error.data as Record<string, unknown> | undefined;
    if (data?.fleetCode === 'RATE_LIMITED') {
      const error = new FleetError('RATE_LIMITED', message.error.message, { data });
      return { status: error.httpStatus, headers: retryAfterHeader(error) };
    }
    if (data?.fleetCode !== 'INSUFFICIENT_SCOPE') return undefined;
    const error = new FleetError('INSUFFICIENT_SCOPE', message.error.message, { data });
    return { status: 403, headers: { 'www-authenticate': this.deps.auth.challenge(error, this.metadata?.url) } };
  }

  /** The client's X-Request-Id if it is usable; else a new one, and a line saying why (never the value: it may be anything). */
  private requestId(req: IncomingMessage, path: string): string {
    const { id, replaced } = acceptRequestId(req.headers[REQUEST_ID_HEADER]);
    if (replaced) this.log.info({ requestId: id, path, why: replaced }, 'X-Request-Id of the client replaced');
    return id;
  }

  private authenticate(req: IncomingMessage): Promise<Principal> {
    return this.deps.auth.authenticate({ headers: req.headers, certificate: clientCertificateIdentity(req.socket) });
  }

  /** Allow for a 405; the challenge for a 401 or 403 of authentication, pointing at the resource metadata; Retry-After for a 429. */
  private refusalHeaders(error: FleetError): Record<string, string> {
    if (error.data?.allow) return { allow: String(error.data.allow) };
    if (error.code === 'RATE_LIMITED') return retryAfterHeader(error);
    if (error.code === 'UNAUTHORIZED' || error.code === 'INSUFFICIENT_SCOPE')
      return { 'www-authenticate': this.deps.auth.challenge(error, this.metadata?.url) };
    return {};
  }

  /** GET of the protected resource metadata, at the plain and at the path-suffixed well-known URL; readable cross-origin, as browsers' clients need. */
  private resourceMetadata(req: IncomingMessage, res: ServerResponse): void {
    if (req.method !== 'GET') throw new FleetError('METHOD_NOT_ALLOWED', `${RESOURCE_METADATA_PATH} answers GET only`, { data: { allow: 'GET' } });
    if (!this.metadata) throw new FleetError('NOT_FOUND', 'this gateway takes no OAuth access tokens, so it publishes no protected resource metadata');
    const { body } = this.metadata;
    res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'max-age=300', 'access-control-allow-origin': '*' }).end(body);
  }

  /** Counts the request as an open connection of `front` until its response closes; throws LIMIT_REACHED at the cap. */
  private hold(front: string, res: ServerResponse): void {
    res.once('close', this.connections.take(front));
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

  private async upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    // a client that drops the connection while it is being authenticated must not take the process with it
    socket.on('error', () => socket.destroy());
    const url = new URL(req.url ?? '/', 'http://gateway');
    const requestId = this.requestId(req, url.pathname);
    let release: (() => void) | undefined;
    let principal: Principal;
    try {
      if (url.pathname !== WS_PATH) throw new FleetError('METHOD_NOT_FOUND', `WebSocket connections go to ${WS_PATH}`);
      if (!this.accepting) throw new FleetError('SHUTTING_DOWN', 'the gateway is shutting down');
      const forbidden = checkOrigin(req.headers, this.options.origin);
      if (forbidden) throw forbidden;
      principal = await this.authenticate(req);
      release = this.connections.take(WS_PATH);
    } catch (err) {
      const error = toFleetError(err);
      this.log.info({ requestId, path: url.pathname, status: error.httpStatus, err: error.message }, 'WebSocket upgrade refused');
      const extra = Object.entries({ ...this.refusalHeaders(error), [REQUEST_ID_HEADER]: requestId })
        .map(([k, v]) => `${k}: ${v}\r\n`)
        .join('');
      socket.end(`HTTP/1.1 ${error.httpStatus} ${error.code}\r\nContent-Type: text/plain\r\n${extra}Connection: close\r\n\r\n${error.message}\n`);
      return;
    }
    socket.once('close', release);
    this.ws.upgrade(req, socket, head, principal, requestId);
  }
}
