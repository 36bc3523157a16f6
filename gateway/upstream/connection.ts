/**
 * One initialized MCP session with an upstream server, over any transport. It owns the upstream's
 * request-id space: every request the gateway forwards gets a fresh id here, and each response is
 * matched back to its waiting caller. Requests and notifications from the server go to `events`.
 */
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
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

/** Who a forwarded request came from, so the server's own requests during it can be routed back. */
export interface RequestOrigin {
  sessionId: string;
  clientRequestId: RequestId;
}

export interface UpstreamEvents {
  notification(n: JsonRpcNotification, conn: UpstreamConnection): void;
  /** A server→client request; resolves to the `result` or `error` the server gets back. */
  request(r: JsonRpcRequest, conn: UpstreamConnection): Promise<{ result: Record<string, unknown> } | { error: { code: number; message: string; data?: unknown } }>;
  closed(conn: UpstreamConnection, reason: Error | undefined): void;
}

export interface InitializeParams {
  protocolVersion: string;
  capabilities: Record<string, unknown>;
  clientInfo: Record<string, unknown>;
}

export interface InitializeResult {
  protocolVersion: string;
  capabilities: Record<string, any>;
  serverInfo: Record<string, unknown>;
  instructions?: string;
  [extra: string]: unknown;
}

interface Pending {
  resolve(r: JsonRpcResponse): void;
  timer: NodeJS.Timeout;
  timeoutMs: number;
  method: string;
  origin: RequestOrigin | undefined;
}

export class UpstreamConnection {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private closed = false;
  init!: InitializeResult;

  constructor(
    readonly serverName: string,
    private readonly transport: Transport,
    private readonly events: UpstreamEvents,
    private readonly log: Logger,
  ) {}

  /** Starts the transport and runs the initialize handshake; rejects (and closes) if either fails. */
  async open(params: InitializeParams, timeoutMs: number): Promise<this> {
    this.transport.onmessage = (m) => this.receive(m as JsonRpcMessage);
    this.transport.onerror = (err) => this.log.debug({ err }, 'transport error');
    this.transport.onclose = () => this.onTransportClosed();
    try {
      await this.transport.start();
      const response = await this.request('initialize', params as unknown as Record<string, unknown>, { timeoutMs }).response;
      if ('error' in response) {
        throw new FleetError('UPSTREAM_UNAVAILABLE', `server "${this.serverName}" refused initialize: ${response.error.message}`);
      }
      this.init = response.result as InitializeResult;
      const setVersion = (this.transport as { setProtocolVersion?: (v: string) => void }).setProtocolVersion;
      setVersion?.call(this.transport, this.init.protocolVersion);
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

  get capabilities(): Record<string, any> {
    return this.init?.capabilities ?? {};
  }

  /**
   * Forwards a request. The returned id is the upstream's id for it (to cancel it); the promise
   * always resolves, to the server's response or to an error response naming the server.
   */
  request(
    method: string,
    params: Record<string, unknown> | undefined,
    options: { timeoutMs: number; origin?: RequestOrigin },
  ): { id: number; response: Promise<JsonRpcResponse> } {
    const id = this.nextId++;
    const response = new Promise<JsonRpcResponse>((resolve) => {
      if (this.closed) {
        resolve(this.failure(id, new FleetError('UPSTREAM_UNAVAILABLE', `server "${this.serverName}" is not connected`)));
        return;
      }
      const timer = setTimeout(() => this.timeout(id), options.timeoutMs);
      this.pending.set(id, { resolve, timer, timeoutMs: options.timeoutMs, method, origin: options.origin });
      const message: JsonRpcRequest = params === undefined ? { jsonrpc: '2.0', id, method } : { jsonrpc: '2.0', id, method, params };
      this.transport.send(message as never).catch((err: Error) => {
        const error = new FleetError('UPSTREAM_UNAVAILABLE', `cannot send to server "${this.serverName}": ${err.message}`, { cause: err });
        this.settle(id, this.failure(id, error));
        // A transport that cannot send is broken (a remote server went away): give it up so it reconnects.
        void this.lose(error);
      });
    });
    return { id, response };
  }

  async notify(method: string, params?: Record<string, unknown>): Promise<void> {
    if (this.closed) return;
    const message: JsonRpcNotification = params === undefined ? { jsonrpc: '2.0', method } : { jsonrpc: '2.0', method, params };
    await this.transport.send(message as never).catch((err: Error) => this.log.debug({ err, method }, 'notification not delivered'));
  }

  /** Cancels a forwarded request upstream and answers its caller at once. */
  cancel(id: number, reason: string | undefined): void {
    if (!this.pending.has(id)) return;
    void this.notify('notifications/cancelled', reason === undefined ? { requestId: id } : { requestId: id, reason });
    this.settle(id, this.failure(id, new FleetError('CANCELLED', 'request cancelled')));
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
    return [...this.pending.values()].flatMap((p) => (p.origin ? [p.origin] : []));
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
    if (!this.closed) await this.transport.send(reply as never).catch((err) => this.log.debug({ err }, 'reply to server request not delivered'));
  }

  private timeout(id: number): void {
    const p = this.pending.get(id);
    if (!p) return;
    void this.notify('notifications/cancelled', { requestId: id, reason: 'timed out in gateway' });
    this.settle(id, this.failure(id, new FleetError('UPSTREAM_TIMEOUT', `server "${this.serverName}" did not answer ${p.method} within ${p.timeoutMs} ms`, { data: { server: this.serverName } })));
  }

  private settle(id: number, response: JsonRpcResponse): void {
    const p = this.pending.get(id);
    if (!p) return;
    this.pending.delete(id);
    clearTimeout(p.timer);
    p.resolve(response);
  }

  private failure(id: number, error: FleetError): JsonRpcResponse {
    const err = new FleetError(error.code, error.message, { data: { server: this.serverName, ...error.data } });
    return errorResponse(id, err.toJsonRpcError());
  }

  private failAll(error: FleetError): void {
    for (const id of [...this.pending.keys()]) this.settle(id, this.failure(id, error));
  }

  private onTransportClosed(): void {
    if (this.closed) return; // end() tells the owners itself
    this.closed = true;
    this.failAll(new FleetError('UPSTREAM_UNAVAILABLE', `server "${this.serverName}" disconnected`));
    this.notifyClosed(new Error('transport closed'));
  }

  private closedNotified = false;
  private notifyClosed(reason: Error | undefined): void {
    if (this.closedNotified) return;
    this.closedNotified = true;
    this.events.closed(this, reason);
  }
}
