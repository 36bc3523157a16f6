/**
 * One connected client, whatever front it came through. It receives the client's raw messages,
 * answers what the gateway answers itself, forwards the rest to the owning upstream with ids and
 * progress tokens remapped, and carries the servers' own requests to the client and back.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { FleetError, toFleetError } from '../protocol/errors';
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
import type { UpstreamConnection } from '../upstream/connection';
import type { ServerLink } from '../servers/group';
import type { LogLevel } from '../relay/log-levels';
import type { SessionHost } from './session-host';
import type { CallOutcome } from '../metrics/call-stats';
import { handleMethod } from './methods';
import { continueTrace, traceparent } from '../relay/trace';

/** How a front delivers messages to its client. `relatedRequestId` lets Streamable HTTP pick the stream. */
export interface FrontChannel {
  readonly kind: 'streamable-http' | 'sse' | 'websocket' | 'stdio';
  send(message: JsonRpcMessage, relatedRequestId?: RequestId): Promise<void>;
  close(): Promise<void>;
}

interface InFlight {
  conn: UpstreamConnection;
  upstreamId: number;
  progressToken?: string;
}

interface AwaitingClient {
  resolve(r: JsonRpcResponse): void;
  timer: NodeJS.Timeout;
  conn: UpstreamConnection;
  upstreamId: RequestId;
}

export class ClientSession {
  readonly id = randomUUID();
  initialized = false;
  protocolVersion = '';
  clientInfo: Record<string, unknown> = {};
  capabilities: Record<string, any> = {};
  logLevel: LogLevel | undefined;
  /** Upstreams that belong to this session alone (servers in per-session mode). */
  ownLinks: ServerLink[] = [];
  readonly subscriptions = new Set<string>();
  lastActivity = Date.now();

  private readonly inFlight = new Map<RequestId, InFlight>();
  private readonly awaiting = new Map<string, AwaitingClient>();
  /** Requests the client cancelled: the spec says their responses are not sent. */
  private readonly cancelledByClient = new Set<RequestId>();
  private nextOutgoingId = 1;
  private closed = false;

  readonly log: Logger;

  constructor(
    readonly host: SessionHost,
    readonly channel: FrontChannel,
    parentLog: Logger,
  ) {
    this.log = parentLog.child({ session: this.id, front: channel.kind });
  }

  get inFlightCount(): number {
    return this.inFlight.size;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Entry point for every message the client sends. */
  receive(message: JsonRpcMessage): void {
    this.lastActivity = Date.now();
    if (isRequest(message)) void this.answer(message);
    else if (isResponse(message)) this.settleAwaiting(message);
    else if (isNotification(message)) this.onNotification(message);
  }

  /** Sends to the client, never throwing: a client that went away is the front's concern. */
  send(message: JsonRpcMessage, relatedRequestId?: RequestId): void {
    if (this.closed) return;
    this.channel.send(message, relatedRequestId).catch((err: Error) => this.log.debug({ err: err.message, method: (message as { method?: string }).method }, 'message to client not delivered'));
  }

  notify(method: string, params?: Record<string, unknown>, relatedRequestId?: RequestId): void {
    const n: JsonRpcNotification = params === undefined ? { jsonrpc: '2.0', method } : { jsonrpc: '2.0', method, params };
    this.send(n, relatedRequestId);
  }

  /**
   * Forwards a client request to an upstream: `backend`, or one the server picks by weight. The
   * progress token, if any, is swapped for a gateway-wide one so progress from a shared upstream
   * finds its way back to this client; the trace context continues the client's trace (or starts
   * one) with the gateway's own span. Each forwarded call leaves one `call` log line with its trace id.
   */
  async forward(link: ServerLink, request: JsonRpcRequest, params: Record<string, unknown> | undefined, backend = link.choose(request.method, params)): Promise<JsonRpcResponse> {
    const conn = backend.connection!;
    const meta = params?._meta as Record<string, unknown> | undefined;
    const trace = continueTrace(meta);
    const upstreamMeta: Record<string, unknown> = { ...meta, traceparent: traceparent(trace) };
    let progressToken: string | undefined;
    if (meta && meta.progressToken !== undefined) {
      progressToken = this.host.progress.register(this, meta.progressToken as string | number, request.id);
      upstreamMeta.progressToken = progressToken;
    }
    const upstreamParams = { ...params, _meta: upstreamMeta };
    const { id, response } = conn.request(request.method, upstreamParams, {
      timeoutMs: link.server.requestTimeoutMs,
      origin: { sessionId: this.id, clientRequestId: request.id },
    });
    if (progressToken) this.host.progress.bind(progressToken, conn, id);
    this.inFlight.set(request.id, { conn, upstreamId: id, progressToken });
    const started = performance.now();
    try {
      const reply = await response;
      const outcome = outcomeOf(reply);
      const durationMs = performance.now() - started;
      this.host.recordCall({ server: link.name, backend: backend.id, method: request.method, outcome, durationMs });
      if (this.host.config.log.calls) this.log.info({ trace: trace.traceId, span: trace.spanId, ...(trace.parentSpanId ? { parent: trace.parentSpanId } : {}), server: link.name, backend: backend.id, method: request.method, outcome, ms: Math.round(durationMs * 10) / 10 }, 'call');
      return reply;
    } finally {
      this.inFlight.delete(request.id);
      if (progressToken) this.host.progress.release(progressToken);
    }
  }

  /** Carries a server's request to this client; resolves with the client's answer. */
  askClient(request: JsonRpcRequest, conn: UpstreamConnection, relatedRequestId: RequestId | undefined, timeoutMs: number): Promise<JsonRpcResponse> {
    const id = `gw-${this.nextOutgoingId++}`;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.awaiting.delete(id);
        this.notify('notifications/cancelled', { requestId: id, reason: 'timed out in gateway' }, relatedRequestId);
        resolve(errorResponse(id, new FleetError('UPSTREAM_TIMEOUT', `client did not answer ${request.method} within ${timeoutMs} ms`).toJsonRpcError()));
      }, timeoutMs);
      this.awaiting.set(id, { resolve, timer, conn, upstreamId: request.id });
      this.send({ ...request, id }, relatedRequestId);
    });
  }

  /** A server withdrew a request it had sent to this client through the gateway. */
  cancelAwaiting(conn: UpstreamConnection, upstreamId: RequestId, reason: unknown): boolean {
    for (const [id, a] of this.awaiting) {
      if (a.conn !== conn || a.upstreamId !== upstreamId) continue;
      this.notify('notifications/cancelled', reason === undefined ? { requestId: id } : { requestId: id, reason });
      clearTimeout(a.timer);
      this.awaiting.delete(id);
      a.resolve(errorResponse(id, new FleetError('CANCELLED', 'request cancelled').toJsonRpcError()));
      return true;
    }
    return false;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    // Calls still running get a clear answer before the session goes, not a dropped connection.
    for (const [clientId, f] of this.inFlight) {
      this.send(errorResponse(clientId, new FleetError('SHUTTING_DOWN', 'the gateway closed this session before the call finished').toJsonRpcError()));
      this.cancelledByClient.add(clientId);
      f.conn.cancel(f.upstreamId, 'client session closed');
    }
    this.closed = true;
    for (const [id, a] of this.awaiting) {
      clearTimeout(a.timer);
      a.resolve(errorResponse(id, new FleetError('UPSTREAM_UNAVAILABLE', 'client session closed').toJsonRpcError()));
    }
    this.awaiting.clear();
    const upstreamsStopped = Promise.all(this.ownLinks.map((l) => l.stop())).then(() => {});
    this.host.sessionClosed(this, upstreamsStopped);
    await upstreamsStopped;
    await this.channel.close().catch(() => {});
  }

  private async answer(request: JsonRpcRequest): Promise<void> {
    let response: JsonRpcResponse;
    try {
      response = await handleMethod(this, request);
    } catch (err) {
      const fleetError = toFleetError(err);
      if (fleetError.code === 'INTERNAL') this.log.error({ err, method: request.method }, 'request failed');
      else this.log.info({ method: request.method, code: fleetError.code, err: fleetError.message }, 'request refused');
      response = errorResponse(request.id, fleetError.toJsonRpcError());
    }
    if (this.cancelledByClient.delete(request.id)) return;
    this.send({ ...response, id: request.id });
  }

  private onNotification(n: JsonRpcNotification): void {
    switch (n.method) {
      case 'notifications/initialized':
        return;
      case 'notifications/cancelled': {
        const requestId = n.params?.requestId as RequestId | undefined;
        const f = requestId === undefined ? undefined : this.inFlight.get(requestId);
        if (!f) return;
        this.cancelledByClient.add(requestId!);
        f.conn.cancel(f.upstreamId, n.params?.reason as string | undefined);
        return;
      }
      case 'notifications/roots/list_changed':
        for (const link of this.ownLinks) void link.connection?.notify(n.method, n.params);
        return;
      default:
        this.log.debug({ method: n.method }, 'client notification not relayed');
    }
  }

  private settleAwaiting(response: JsonRpcResponse): void {
    const id = String(response.id);
    const a = this.awaiting.get(id);
    if (!a) {
      this.log.debug({ id }, 'response from client matches no pending server request');
      return;
    }
    clearTimeout(a.timer);
    this.awaiting.delete(id);
    a.resolve(response);
  }
}

/** tool_error: the tool ran and reported failure (result.isError), as opposed to a failed request. */
function outcomeOf(reply: JsonRpcResponse): CallOutcome {
  if ('error' in reply) return 'error';
  return (reply.result as { isError?: unknown }).isError === true ? 'tool_error' : 'ok';
}
