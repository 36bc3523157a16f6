/**
 * One initialized MCP session with an upstream server, over any transport. It owns the upstream's
 * request-id space: every request the gateway forwards gets a fresh id here, and each response is
 * matched back to its waiting caller. Requests and notifications from the server go to `events`.
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
  type RequestId,
} from '../protocol/jsonrpc';
import { FleetError, toFleetError } from '../protocol/errors';
import type { MessageTransport } from '../protocol/transport';

/** Who a forwarded request came from, so the server's own requests during it can be routed back. */
export interface RequestOrigin {
  clientId: string;
  clientRequestId: RequestId;
}

/** What a server→client request resolves to: the `result` or the `error` the server gets back. */
export type ServerRequestOutcome = { result: Record<string, unknown> } | { error: { code: number; message: string; data?: unknown } };

export interface UpstreamEvents {
  notification(n: JsonRpcNotification, conn: UpstreamConnection): void;
  request(r: JsonRpcRequest, conn: UpstreamConnection): Promise<ServerRequestOutcome>;
  closed(conn: UpstreamConnection, reason: Error | undefined): void;
}

export interface InitializeParams {
  protocolVersion: string;
  capabilities: Record<string, unknown>;
  clientInfo: Record<string, unknown>;
}

export interface InitializeResult {
  protocolVersion: string;
  capabilities: Record<string, unknown>;
  serverInfo: Record<string, unknown>;
  instructions?: string;
  [extra: string]: unknown;
}

export interface RequestOptions {
  timeoutMs: number;
  origin?: RequestOrigin;
}

/** A forwarded request: its upstream id (to cancel it) and the server's answer. */
export interface PendingRequest {
  id: number;
  response: Promise<JsonRpcResponse>;
}

interface Pending {
  resolve(r: JsonRpcResponse): void;
  reject(e: FleetError): void;
  timer: NodeJS.Timeout;
  timeoutMs: number;
  method: string;
  origin: RequestOrigin | undefined;
}

export class UpstreamConnection {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private closed = false;
  private closedNotified = false;
  private initResult: InitializeResult | undefined;

  constructor(
    readonly serverName: string,
    private readonly transport: MessageTransport,
    private readonly events: UpstreamEvents,
    private readonly log: Logger,
  ) {}

  /** Starts the transport and runs the initialize handshake; rejects (and closes) if either fails. */
  async open(params: InitializeParams, timeoutMs: number): Promise<this> {
    this.transport.onmessage = (m) => this.receive(m);
    this.transport.onerror = (err) => this.log.debug({ err }, 'transport error');
    this.transport.onclose = () => this.onTransportClosed();
    try {
      await this.transport.start();
      const response = await this.request('initialize', { ...params }, { timeoutMs }).response;
      if ('error' in response) throw new FleetError('UPSTREAM_UNAVAILABLE', `server "${this.serverName}" refused initialize: ${response.error.message}`);
      this.initResult = response.result as InitializeResult;
      this.transport.setProtocolVersion?.(this.initResult.protocolVersion);
      await this.notify('notifications/initialized');
      return this;
    } catch (err) {
      await this.close();
      throw toFleetError(err);
    }
  }

  get isOpen(): boolean {
    return !this.closed;
  }

  /** What the server answered to initialize; an empty answer before the handshake. */
  get init(): InitializeResult {
    return this.initResult ?? { protocolVersion: '', capabilities: {}, serverInfo: {} };
  }

  get capabilities(): Record<string, unknown> {
    return this.init.capabilities;
  }

  /** Sends a request under a fresh id; see the module comment for how the answer settles. */
  request(method: string, params: Record<string, unknown> | undefined, options: RequestOptions): PendingRequest {
    const id = this.nextId++;
    const response = new Promise<JsonRpcResponse>((resolve, reject) => {
      if (this.closed) return reject(this.failure(new FleetError('UPSTREAM_UNAVAILABLE', `server "${this.serverName}" is not connected`)));
      const timer = setTimeout(() => this.timeout(id), options.timeoutMs);
      this.pending.set(id, { resolve, reject, timer, timeoutMs: options.timeoutMs, method, origin: options.origin });
      const message: JsonRpcRequest = params === undefined ? { jsonrpc: '2.0', id, method } : { jsonrpc: '2.0', id, method, params };
      this.transport.send(message).catch((err: Error) => {
        const error = new FleetError('UPSTREAM_UNAVAILABLE', `cannot send to server "${this.serverName}": ${err.message}`, { cause: err });
        this.fail(id, error);
        // A transport that cannot send is broken (a remote server went away): give it up so it reconnects.
        void this.lose(error);
      });
    });
    return { id, response };
  }

  /** A request whose answer nobody waits for (mirrored subscriptions, shared log levels): failures are logged. */
  fireAndForget(method: string, params: Record<string, unknown> | undefined, timeoutMs: number): void {
    this.request(method, params, { timeoutMs }).response.then(
      (r) => 'error' in r && this.log.debug({ method, err: r.error.message }, 'server refused a request the gateway sent on its own'),
      (err: FleetError) => this.log.debug({ method, err: err.message }, 'request the gateway sent on its own failed'),
    );
  }

  async notify(method: string, params?: Record<string, unknown>): Promise<void> {
    if (this.closed) return;
    const message: JsonRpcNotification = params === undefined ? { jsonrpc: '2.0', method } : { jsonrpc: '2.0', method, params };
    await this.transport.send(message).catch((err: Error) => this.log.debug({ err, method }, 'notification not delivered'));
  }

  /** Cancels a forwarded request upstream; its caller is told at once. */
  cancel(id: number, reason: string | undefined): void {
    if (!this.pending.has(id)) return;
    void this.notify('notifications/cancelled', reason === undefined ? { requestId: id } : { requestId: id, reason });
    this.fail(id, new FleetError('CANCELLED', `request cancelled${reason ? `: ${reason}` : ''}`));
  }

  /** Progress on a request restarts its timeout, as the spec allows for long-running work. */
  touch(id: number): void {
    const p = this.pending.get(id);
    if (!p) return;
    clearTimeout(p.timer);
    p.timer = setTimeout(() => this.timeout(id), p.timeoutMs);
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

  private receive(m: JsonRpcMessage): void {
    if (isResponse(m)) {
      if (typeof m.id === 'number') this.settle(m.id, m);
      return;
    }
    if (isRequest(m)) {
      void this.answer(m);
      return;
    }
    if (isNotification(m)) this.events.notification(m, this);
  }

  private async answer(request: JsonRpcRequest): Promise<void> {
    let reply: JsonRpcResponse;
    try {
      const outcome = await this.events.request(request, this);
      reply = 'result' in outcome ? { jsonrpc: '2.0', id: request.id, result: outcome.result } : errorResponse(request.id, outcome.error);
    } catch (err) {
      reply = errorResponse(request.id, toFleetError(err).toJsonRpcError());
    }
    if (!this.closed) await this.transport.send(reply).catch((err) => this.log.debug({ err }, 'reply to server request not delivered'));
  }

  private timeout(id: number): void {
    const p = this.pending.get(id);
    if (!p) return;
    void this.notify('notifications/cancelled', { requestId: id, reason: 'timed out in gateway' });
    this.fail(id, new FleetError('UPSTREAM_TIMEOUT', `server "${this.serverName}" did not answer ${p.method} within ${p.timeoutMs} ms`));
  }

  private take(id: number): Pending | undefined {
    const p = this.pending.get(id);
    if (!p) return undefined;
    this.pending.delete(id);
    clearTimeout(p.timer);
    return p;
  }

  private settle(id: number, response: JsonRpcResponse): void {
    this.take(id)?.resolve(response);
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
