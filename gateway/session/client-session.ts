/**
 * One connected client, whatever front it came through. It keeps the session's lifecycle (nothing
 * but initialize and ping before the handshake; no notification before initialize is answered),
 * the requests it has in flight (one per id: a second request under an id still in flight is
 * refused), cancellations, and the servers' requests waiting for the client's answer. Everything
 * else it hands to the relay, which it meets only through `handle`, `attach` and `detach`.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { FleetError, toFleetError } from '../protocol/errors';
import { asObject } from '../protocol/objects';
import {
  errorResponse,
  isNotification,
  isRequest,
  isResponse,
  resultResponse,
  type JsonRpcMessage,
  type JsonRpcNotification,
  type JsonRpcRequest,
  type JsonRpcResponse,
  type RequestId,
} from '../protocol/jsonrpc';
import type { PresentedToken } from '../auth/presented-token';
import type { Principal } from '../auth/principal';
import type { ClientPeer } from '../relay/clients';
import { Cancellation, type Call } from '../relay/context';
import type { Relay } from '../relay/relay';
import { routeOf } from '../relay/routes';
import type { UpstreamConnection } from '../upstream/connection';
import { initializeResult, negotiateVersion } from './initialize';
import { childLater } from '../child-later';

/** How a front delivers messages to its client. `relatedRequestId` lets Streamable HTTP pick the stream. */
export interface FrontChannel {
  readonly kind: 'streamable-http' | 'sse' | 'websocket' | 'stdio';
  /** Who opened the session: every later use of it must come from the same principal. */
  readonly principal: Principal;
  /** The request id of the connection, for messages that do not come with one of their own (WebSocket: its upgrade's). */
  readonly requestId?: string;
  /** The id the client names the session by, where the front has one (Mcp-Session-Id, legacy SSE's sessionId): the admin list shows its short form. */
  readonly sessionId?: string;
  send(message: JsonRpcMessage, relatedRequestId?: RequestId): Promise<void>;
  close(): Promise<void>;
  /**
   * The handshake succeeded and its answer is about to go: what it settled may be kept for other
   * replicas, before the client can take the session id to one of them (the answer waits for it).
   */
  opened?(handshake: Handshake): Promise<void> | void;
}

/** What initialize settled for the session's life. */
export interface Handshake {
  protocolVersion: string;
  clientInfo: Record<string, unknown>;
  capabilities: Record<string, unknown>;
}

/** What a session needs from the gateway around it. */
export interface SessionDeps {
  relay: Relay;
  serverInfo: { name: string; version: string };
  /** True once shutdown began: new requests are refused, in-flight ones finish. */
  draining(): boolean;
  /** The session ended; `stopped` settles when its own upstreams are gone (shutdown waits for it). */
  closed(session: ClientSession, stopped: Promise<void>): void;
  /** Requests the client may have in flight at once (limits.maxPendingPerSession); one more is refused. */
  maxPending: number;
}

interface AwaitingClient {
  resolve(r: JsonRpcResponse): void;
  timer: NodeJS.Timeout;
  conn: UpstreamConnection;
  upstreamId: RequestId;
}

type Phase = 'new' | 'initializing' | 'operating' | 'closed';

export class ClientSession implements ClientPeer {
  readonly id = randomUUID();
  readonly era = 'legacy' as const;
  /** When the front opened it (ms since the epoch). */
  readonly openedAt = Date.now();
  readonly log: Logger;
  private handshake: Handshake = { protocolVersion: '', clientInfo: {}, capabilities: {} };
  private lastSeen = Date.now();

  private phase: Phase = 'new';
  private readonly inFlight = new Map<RequestId, Cancellation>();
  private readonly awaiting = new Map<string, AwaitingClient>();
  private nextOutgoingId = 1;
  /** The access token of the principal's latest request, in memory only (token exchange acts on it). */
  private latestToken: PresentedToken | undefined;

  constructor(
    private readonly deps: SessionDeps,
    readonly channel: FrontChannel,
    parentLog: Logger,
  ) {
    this.log = parentLog.child({ session: this.id, front: channel.kind });
    this.latestToken = channel.principal.token;
  }

  get principal(): Principal {
    return this.channel.principal;
  }

  /**
   * Another request of the session's principal was authenticated (the front checked it is the
   * same one): a token it came with replaces the one before, since the client refreshes its tokens
   * as they expire and token exchange must act on a live one.
   */
  presented(principal: Principal): void {
    if (principal.token) this.latestToken = principal.token;
  }

  subjectToken(): PresentedToken | undefined {
    return this.latestToken;
  }

  /** What the client said at initialize (empty before). */
  get protocolVersion(): string {
    return this.handshake.protocolVersion;
  }

  get clientInfo(): Record<string, unknown> {
    return this.handshake.clientInfo;
  }

  get capabilities(): Record<string, unknown> {
    return this.handshake.capabilities;
  }

  /** When the client last sent something or an HTTP request of its ended (the idle sweep reads it). */
  get lastActivity(): number {
    return this.lastSeen;
  }

  /** The client is still there (a front saw one of its connections end). */
  touch(): void {
    this.lastSeen = Date.now();
  }

  get inFlightCount(): number {
    return this.inFlight.size;
  }

  get isClosed(): boolean {
    return this.phase === 'closed';
  }

  /** Initialized, and the answer to initialize is on its way: notifications may follow it. */
  get operating(): boolean {
    return this.phase === 'operating';
  }

  /**
   * Entry point for every message the client sends; `requestId`: the HTTP request's it came in
   * (else the channel's: a WebSocket's upgrade), bound to the log lines of a request it is.
   */
  receive(message: JsonRpcMessage, requestId: string | undefined = this.channel.requestId): void {
    this.lastSeen = Date.now();
    if (isRequest(message)) void this.answer(message, requestId);
    else if (isResponse(message)) this.settleAwaiting(message);
    else if (isNotification(message)) this.onNotification(message);
  }

  /** Sends to the client, never throwing: a client that went away is the front's concern. */
  send(message: JsonRpcMessage, relatedRequestId?: RequestId): void {
    if (this.phase === 'closed') return;
    this.channel
      .send(message, relatedRequestId)
      .catch((err: Error) => this.log.debug({ err: err.message, method: (message as { method?: string }).method }, 'message to client not delivered'));
  }

  notify(method: string, params?: Record<string, unknown>, relatedRequestId?: RequestId): void {
    const n: JsonRpcNotification = params === undefined ? { jsonrpc: '2.0', method } : { jsonrpc: '2.0', method, params };
    this.send(n, relatedRequestId);
  }

  /** Carries a server's request to this client; resolves with the client's answer. */
  ask(request: JsonRpcRequest, relatedRequestId: RequestId | undefined, timeoutMs: number, from: UpstreamConnection): Promise<JsonRpcResponse> {
    const id = `gw-${this.nextOutgoingId++}`;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.awaiting.delete(id);
        this.notify('notifications/cancelled', { requestId: id, reason: 'timed out in gateway' }, relatedRequestId);
        resolve(errorResponse(id, new FleetError('UPSTREAM_TIMEOUT', `client did not answer ${request.method} within ${timeoutMs} ms`).toJsonRpcError()));
      }, timeoutMs);
      this.awaiting.set(id, { resolve, timer, conn: from, upstreamId: request.id });
      this.send({ ...request, id }, relatedRequestId);
    });
  }

  withdraw(from: UpstreamConnection, upstreamId: RequestId, reason: unknown): boolean {
    for (const [id, a] of this.awaiting) {
      if (a.conn !== from || a.upstreamId !== upstreamId) continue;
      this.notify('notifications/cancelled', reason === undefined ? { requestId: id } : { requestId: id, reason });
      clearTimeout(a.timer);
      this.awaiting.delete(id);
      a.resolve(errorResponse(id, new FleetError('CANCELLED', 'the server withdrew its request').toJsonRpcError()));
      return true;
    }
    return false;
  }

  async close(): Promise<void> {
    if (this.phase === 'closed') return;
    // Calls still running get a clear answer before the session goes, not a dropped connection.
    for (const [clientId, cancellation] of this.inFlight) {
      this.send(errorResponse(clientId, new FleetError('SHUTTING_DOWN', 'the gateway closed this session before the call finished').toJsonRpcError()));
      cancellation.cancel('client session closed');
    }
    this.phase = 'closed';
    for (const [id, a] of this.awaiting) {
      clearTimeout(a.timer);
      a.resolve(errorResponse(id, new FleetError('UPSTREAM_UNAVAILABLE', 'client session closed').toJsonRpcError()));
    }
    this.awaiting.clear();
    const stopped = this.deps.relay.detach(this);
    this.deps.closed(this, stopped);
    await stopped;
    await this.channel.close().catch(() => {});
  }

  private async answer(request: JsonRpcRequest, requestId: string | undefined): Promise<void> {
    const log = requestId === undefined ? this.log : childLater(this.log, { requestId });
    if (this.inFlight.has(request.id)) {
      const refusal = new FleetError(
        'INVALID_REQUEST',
        `Invalid Request: id ${JSON.stringify(request.id)} belongs to a request still in flight in this session; use a new id`,
      );
      log.info({ method: request.method, id: request.id }, 'request refused: id in use');
      this.send(errorResponse(request.id, refusal.toJsonRpcError()));
      return;
    }
    if (this.inFlight.size >= this.deps.maxPending) {
      const refusal = new FleetError(
        'LIMIT_REACHED',
        `too many requests in flight in this session: the limit is ${this.deps.maxPending} (limits.maxPendingPerSession); wait for answers first`,
      );
      log.info({ method: request.method, inFlight: this.inFlight.size }, 'request refused: too many in flight');
      this.send(errorResponse(request.id, refusal.toJsonRpcError()));
      return;
    }
    // Only the answer to the initialize that starts the handshake ends it: a ping may be answered meanwhile.
    const startsHandshake = request.method === 'initialize' && this.phase === 'new';
    const cancellation = new Cancellation();
    this.inFlight.set(request.id, cancellation);
    const call: Call = { request, client: this, cancellation, params: request.params ?? {}, meta: {}, log, ...(requestId === undefined ? {} : { requestId }) };
    let response: JsonRpcResponse;
    try {
      response = await this.serve(call);
    } catch (err) {
      const fleetError = toFleetError(err);
      // the call's logger: by now it may name the trace too
      if (fleetError.code === 'INTERNAL') call.log.error({ err, method: request.method }, 'request failed');
      else call.log.info({ method: request.method, code: fleetError.code, err: fleetError.message }, 'request refused');
      response = errorResponse(request.id, fleetError.toJsonRpcError());
    } finally {
      this.inFlight.delete(request.id);
    }
    // The spec: a request the client cancelled gets no response; initialize cannot be cancelled, so it always is answered.
    if (cancellation.cancelled && !startsHandshake) return;
    const handshakeDone = startsHandshake && this.phase === 'initializing';
    if (handshakeDone && !('error' in response)) await this.channel.opened?.(this.handshake);
    this.send({ ...response, id: request.id });
    if (handshakeDone) this.phase = 'error' in response ? 'new' : 'operating';
  }

  /**
   * Takes up a session another replica opened, from what its initialize settled: operating at
   * once, with its own per-session servers opened anew (what those servers held is not carried
   * over; shared and per-principal servers are the same everywhere).
   */
  async resume(handshake: Handshake): Promise<void> {
    if (this.phase !== 'new') throw new FleetError('INVALID_REQUEST', 'Invalid Request: this session is already initialized');
    this.handshake = { ...handshake, protocolVersion: negotiateVersion(handshake.protocolVersion) };
    this.phase = 'initializing';
    const init = { protocolVersion: this.protocolVersion, capabilities: this.capabilities, clientInfo: this.clientInfo };
    await this.deps.relay.attach(this, () => init);
    this.phase = 'operating';
    this.log.info({ protocolVersion: this.protocolVersion }, 'client session resumed from the shared store');
  }

  /** Not async on purpose: one promise less per forwarded call; what it throws, `answer` catches. */
  private serve(call: Call): Promise<JsonRpcResponse> {
    const { request } = call;
    const route = routeOf(request.method, 'legacy');
    if (this.deps.draining()) throw new FleetError('SHUTTING_DOWN', 'the gateway is shutting down; reconnect to another instance or retry later');
    if (route.kind === 'initialize') return this.initialize(request);
    if (this.phase !== 'operating' && request.method !== 'ping') throw new FleetError('INVALID_REQUEST', `send initialize before ${request.method}`);
    return this.deps.relay.handle(call, route);
  }

  private async initialize(request: JsonRpcRequest): Promise<JsonRpcResponse> {
    if (this.phase !== 'new') throw new FleetError('INVALID_REQUEST', 'Invalid Request: this session is already initialized');
    const params = request.params ?? {};
    if (typeof params.protocolVersion !== 'string') throw new FleetError('INVALID_PARAMS', 'initialize needs params.protocolVersion (a string)');
    this.handshake = {
      protocolVersion: negotiateVersion(params.protocolVersion),
      clientInfo: asObject(params.clientInfo) ?? {},
      capabilities: asObject(params.capabilities) ?? {},
    };
    this.phase = 'initializing';
    const init = { protocolVersion: this.protocolVersion, capabilities: this.capabilities, clientInfo: this.clientInfo };
    await this.deps.relay.attach(this, () => init);
    const { relay, serverInfo } = this.deps;
    return resultResponse(request.id, initializeResult(this.protocolVersion, serverInfo, relay.instructions(this), relay.tasksCapability(this)));
  }

  private onNotification(n: JsonRpcNotification): void {
    switch (n.method) {
      case 'notifications/initialized':
        return;
      case 'notifications/cancelled': {
        const requestId = n.params?.requestId;
        if (typeof requestId !== 'string' && typeof requestId !== 'number') return;
        this.inFlight.get(requestId)?.cancel(typeof n.params?.reason === 'string' ? n.params.reason : undefined);
        return;
      }
      case 'notifications/roots/list_changed':
        this.deps.relay.rootsChanged(this, n.params);
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
