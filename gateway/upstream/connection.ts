/**
 * One initialized MCP session with an upstream server, over any transport. It owns the upstream's
 * request-id space: every request the gateway forwards gets a fresh id here, and each response is
 * matched back to its waiting caller. Requests and notifications from the server go to `events`.
 *
 * Its `era` is the protocol generation the server speaks: a 2025 server is initialized; a
 * 2026-07-28 server is discovered (`server/discover`) and keeps no session, and what that changes
 * for each request is modern-upstream.ts's job. With `protocol: auto` the connection probes first
 * and falls back to initialize on the same transport (era-probe.ts).
 *
 * A request's promise resolves with whatever the server answered, its own errors included, and
 * rejects with a FleetError only when the gateway itself gave up on it (timeout, lost connection,
 * cancellation). So nobody mistakes a server's error code for the gateway's, or the other way round.
 */
import type { Logger } from 'pino';
import {
  errorResponse,
  isNotification,
  isRequest,
  isResponse,
  type JsonRpcMessage,
  type JsonRpcNotification,
  type JsonRpcRequest,
  type JsonRpcResponse,
} from '../protocol/jsonrpc';
import type { Era } from '../protocol/eras';
import { FleetError, toFleetError } from '../protocol/errors';
import type { HttpPoolStats, MessageTransport, ReceivedContext } from '../protocol/transport';
import { ModernUpstream } from './modern-upstream';
import { openSession, type OpenOptions } from './session-open';
import type {
  InitializeParams,
  InitializeResult,
  PendingRequest,
  RequestOptions,
  RequestOrigin,
  RequestOutcome,
  RequestWire,
  ServerRequestOutcome,
} from './session-types';

export type { OpenOptions } from './session-open';
export type {
  InitializeParams,
  InitializeResult,
  PendingRequest,
  RequestOptions,
  RequestOrigin,
  RequestOutcome,
  RequestWire,
  ServerRequestOutcome,
} from './session-types';

export interface UpstreamEvents {
  notification(n: JsonRpcNotification, conn: UpstreamConnection, context: RequestWire): void;
  request(r: JsonRpcRequest, conn: UpstreamConnection, context: RequestWire): Promise<ServerRequestOutcome>;
  closed(conn: UpstreamConnection, reason: Error | undefined): void;
  /** A request was answered or timed out in the gateway (not cancelled, not lost with the connection): health evidence. */
  settled?(outcome: RequestOutcome, conn: UpstreamConnection): void;
}

interface Pending {
  resolve(r: JsonRpcResponse): void;
  reject(e: FleetError): void;
  timer: NodeJS.Timeout | undefined;
  timeoutMs: number;
  method: string;
  origin: RequestOrigin | undefined;
  /** performance.now() and the traffic count when it was sent. */
  sentAt: number;
  trafficAtSend: number;
}

export class UpstreamConnection {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private closed = false;
  private closedNotified = false;
  private initResult: InitializeResult | undefined;
  private modern: ModernUpstream | undefined;
  /** Messages and byte chunks received from the server so far: any of it shows the server is there. */
  private trafficCount = 0;

  constructor(
    readonly serverName: string,
    private readonly transport: MessageTransport,
    private readonly events: UpstreamEvents,
    private readonly log: Logger,
  ) {}

  /** Starts the transport and opens the session (probe, then discover or initialize); rejects (and closes) if any of it fails. */
  async open(params: InitializeParams, options: OpenOptions): Promise<this> {
    this.transport.onmessage = (m, context) => this.receive(m, context);
    this.transport.onactivity = () => void this.trafficCount++;
    // What a server sent over its limits is worth a warning; other transport errors (a dropped stream retried) are not.
    this.transport.onerror = (err) =>
      err instanceof FleetError && err.code === 'UPSTREAM_BAD_MESSAGE'
        ? this.log.warn({ err: err.message }, 'server message refused')
        : this.log.debug({ err }, 'transport error');
    this.transport.onclose = () => this.onTransportClosed();
    try {
      await this.transport.start();
      const opened = await openSession(
        {
          serverName: this.serverName,
          isOpen: () => this.isOpen,
          send: (method, p, o) => this.send(method, p, o),
          notify: (method) => this.notify(method),
          setProtocolVersion: (version) => this.transport.setProtocolVersion?.(version),
        },
        params,
        options,
      );
      this.initResult = opened.init;
      if (opened.era === 'modern') this.goModern(params);
      return this;
    } catch (err) {
      await this.close();
      throw toFleetError(err);
    }
  }

  /** The generation the server speaks (legacy until opened). */
  get era(): Era {
    return this.modern ? 'modern' : 'legacy';
  }

  /** Its HTTP keep-alive connections, over Streamable HTTP; undefined over any other transport. */
  get httpPool(): HttpPoolStats | undefined {
    return this.transport.httpPool?.();
  }

  get isOpen(): boolean {
    return !this.closed;
  }

  /** What the server answered to initialize (or, for a 2026-07-28 server, to server/discover); an empty answer before. */
  get init(): InitializeResult {
    return this.initResult ?? { protocolVersion: '', capabilities: {}, serverInfo: {} };
  }

  get capabilities(): Record<string, unknown> {
    return this.init.capabilities;
  }

  private goModern(params: InitializeParams): void {
    this.modern = new ModernUpstream(
      {
        serverName: this.serverName,
        isOpen: () => this.isOpen,
        send: (method, p, o) => this.send(method, p, o),
        cancel: (id, reason) => this.cancel(id, reason),
        deliver: (n) => this.events.notification(n, this, {}),
        lose: (reason) => this.lose(reason),
      },
      params,
      this.init.capabilities,
      this.log,
    );
    void this.modern.listen();
  }

  /**
   * Sends a request under a fresh id; see the module comment for how the answer settles. To a
   * modern server it goes with the envelope, or is mapped or answered here (modern-upstream.ts).
   */
  request(method: string, params: Record<string, unknown> | undefined, options: RequestOptions): PendingRequest {
    if (!this.modern) return this.send(method, params, options);
    const translated = this.modern.translate(method, params);
    if ('local' in translated) {
      const id = this.nextId++;
      return { id, response: translated.local.then((result) => ({ jsonrpc: '2.0', id, result })) };
    }
    const pending = this.send(translated.method, translated.params, options);
    return translated.method === method ? pending : { id: pending.id, response: pending.response.then((r) => ('error' in r ? r : { ...r, result: {} })) };
  }

  private send(method: string, params: Record<string, unknown> | undefined, options: RequestOptions): PendingRequest {
    const id = this.nextId++;
    const response = new Promise<JsonRpcResponse>((resolve, reject) => {
      if (this.closed) return reject(this.failure(new FleetError('UPSTREAM_UNAVAILABLE', `server "${this.serverName}" is not connected`)));
      const timer = this.timer(id, options.timeoutMs);
      this.pending.set(id, {
        resolve,
        reject,
        timer,
        timeoutMs: options.timeoutMs,
        method,
        origin: options.origin,
        sentAt: performance.now(),
        trafficAtSend: this.trafficCount,
      });
      const message: JsonRpcRequest = params === undefined ? { jsonrpc: '2.0', id, method } : { jsonrpc: '2.0', id, method, params };
      this.transport.send(message, options.headers ? { headers: options.headers } : undefined).catch((err: Error) => {
        // A message JSON cannot write, or one whose credential was refused (token exchange), is this
        // request's fault alone: the transport is fine and stays up.
        const unsendable = err instanceof FleetError && (err.code === 'UNSERIALIZABLE' || err.code === 'FORBIDDEN') ? err.code : undefined;
        const error = new FleetError(unsendable ?? 'UPSTREAM_UNAVAILABLE', `cannot send to server "${this.serverName}": ${err.message}`, {
          cause: err,
          data: err instanceof FleetError ? err.data : undefined,
        });
        this.fail(id, error);
        // A transport that cannot send is broken (a remote server went away): give it up so it reconnects.
        if (!options.probe && !unsendable) void this.lose(error);
      });
    });
    return { id, response };
  }

  private timer(id: number, timeoutMs: number): NodeJS.Timeout | undefined {
    return Number.isFinite(timeoutMs) ? setTimeout(() => this.timeout(id), timeoutMs) : undefined;
  }

  /** A request whose answer nobody needs (mirrored subscriptions, shared log levels): failures are logged; settles once it is over. */
  fireAndForget(method: string, params: Record<string, unknown> | undefined, timeoutMs: number): Promise<void> {
    return this.request(method, params, { timeoutMs }).response.then(
      (r) => {
        if ('error' in r) this.log.debug({ method, err: r.error.message }, 'server refused a request the gateway sent on its own');
      },
      (err: FleetError) => this.log.debug({ method, err: err.message }, 'request the gateway sent on its own failed'),
    );
  }

  async notify(method: string, params?: Record<string, unknown>): Promise<void> {
    if (this.closed || (this.modern && !this.modern.passes(method))) return;
    const message: JsonRpcNotification = params === undefined ? { jsonrpc: '2.0', method } : { jsonrpc: '2.0', method, params };
    await this.transport.send(message).catch((err: Error) => this.log.debug({ err, method }, 'notification not delivered'));
  }

  /** Cancels a forwarded request upstream; its caller is told at once. */
  cancel(id: number, reason: string | undefined): void {
    if (!this.pending.has(id)) return;
    this.tellCancelled(id, reason);
    this.fail(id, new FleetError('CANCELLED', `request cancelled${reason ? `: ${reason}` : ''}`));
  }

  /** Over Streamable HTTP a 2026-07-28 request is cancelled by closing its stream; elsewhere by the notification. */
  private tellCancelled(id: number, reason: string | undefined): void {
    if (this.modern && this.transport.cancel?.(id)) return;
    void this.notify('notifications/cancelled', reason === undefined ? { requestId: id } : { requestId: id, reason });
  }

  /** Progress on a request restarts its timeout, as the spec allows for long-running work. */
  touch(id: number): void {
    const p = this.pending.get(id);
    if (!p) return;
    clearTimeout(p.timer);
    p.timer = this.timer(id, p.timeoutMs);
  }

  /** Who an in-flight request came from (undefined when it is the gateway's own, or settled). */
  originOf(id: number): RequestOrigin | undefined {
    return this.pending.get(id)?.origin;
  }

  /** Origins of every in-flight request, oldest first. */
  inFlightOrigins(): RequestOrigin[] {
    const origins: RequestOrigin[] = [];
    for (const p of this.pending.values()) if (p.origin) origins.push(p.origin);
    return origins;
  }

  /** Closes the session on purpose; owners are told with no reason. */
  async close(): Promise<void> {
    await this.end(new FleetError('UPSTREAM_UNAVAILABLE', `server "${this.serverName}" connection closed`), undefined);
  }

  /** Gives up a session found broken (failed send, failed health check); owners are told why. */
  async lose(reason: Error): Promise<void> {
    await this.end(new FleetError('UPSTREAM_UNAVAILABLE', `server "${this.serverName}" disconnected: ${reason.message}`), reason);
  }

  private async end(pendingError: FleetError, reason: Error | undefined): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.failAll(pendingError);
    await this.transport.close().catch((err) => this.log.debug({ err }, 'error while closing transport'));
    this.notifyClosed(reason);
  }

  private receive(m: JsonRpcMessage, context: ReceivedContext | undefined): void {
    // the transport's own answer for a response that can no longer come: the server said nothing
    if (context?.failure && isResponse(m)) {
      if (typeof m.id === 'number') this.fail(m.id, context.failure);
      return;
    }
    this.trafficCount++;
    if (isResponse(m)) {
      if (typeof m.id === 'number') this.settle(m.id, m);
      return;
    }
    const inResponseTo = context?.inResponseTo;
    const wire: RequestWire = typeof inResponseTo === 'number' ? { inResponseTo } : {};
    if (isRequest(m)) {
      void this.answer(m, wire);
      return;
    }
    if (isNotification(m) && (!this.modern || this.modern.receive(m))) this.events.notification(m, this, wire);
  }

  private async answer(request: JsonRpcRequest, context: RequestWire): Promise<void> {
    let reply: JsonRpcResponse;
    try {
      const outcome = await this.events.request(request, this, context);
      reply = 'result' in outcome ? { jsonrpc: '2.0', id: request.id, result: outcome.result } : errorResponse(request.id, outcome.error);
    } catch (err) {
      reply = errorResponse(request.id, toFleetError(err).toJsonRpcError());
    }
    if (!this.closed) await this.transport.send(reply).catch((err) => this.log.debug({ err }, 'reply to server request not delivered'));
  }

  private timeout(id: number): void {
    const p = this.pending.get(id);
    if (!p) return;
    this.tellCancelled(id, 'timed out in gateway');
    const error = new FleetError('UPSTREAM_TIMEOUT', `server "${this.serverName}" did not answer ${p.method} within ${p.timeoutMs} ms`);
    this.fail(id, error);
    const quiet = this.trafficCount === p.trafficAtSend;
    this.events.settled?.({ method: p.method, answered: false, error: error.message, sentAt: p.sentAt, at: performance.now(), quiet }, this);
  }

  private take(id: number): Pending | undefined {
    const p = this.pending.get(id);
    if (!p) return undefined;
    this.pending.delete(id);
    clearTimeout(p.timer);
    return p;
  }

  private settle(id: number, response: JsonRpcResponse): void {
    const p = this.take(id);
    if (!p) return;
    p.resolve(response);
    this.events.settled?.({ method: p.method, answered: true }, this);
  }

  private fail(id: number, error: FleetError): void {
    this.take(id)?.reject(this.failure(error));
  }

  /** The error names the server in its data, so a client can tell which upstream failed. */
  private failure(error: FleetError): FleetError {
    return new FleetError(error.code, error.message, { data: { server: this.serverName, ...error.data }, cause: error.cause });
  }

  private failAll(error: FleetError): void {
    for (const id of [...this.pending.keys()]) this.fail(id, error);
  }

  private onTransportClosed(): void {
    if (this.closed) return; // end() tells the owners itself
    this.closed = true;
    this.failAll(new FleetError('UPSTREAM_UNAVAILABLE', `server "${this.serverName}" disconnected`));
    this.notifyClosed(new Error('transport closed'));
  }

  private notifyClosed(reason: Error | undefined): void {
    if (this.closedNotified) return;
    this.closedNotified = true;
    this.events.closed(this, reason);
  }
}
