/**
 * The client side of MCP Streamable HTTP (spec 2025-11-25) for remote upstreams, on node:http
 * with keep-alive agents. It replaces the SDK's client transport, which pays for a WHATWG fetch
 * per message and leaves an abort listener behind on every request.
 *
 * Every message is a POST; a request's answer comes back as JSON or as an SSE stream that may
 * carry the server's notifications and requests first. After initialization a GET stream carries
 * the server's own notifications. A dropped stream is resumed with Last-Event-ID (the streams'
 * mechanics are response-streams.ts); a 404 on the session means the server forgot it, and the
 * transport closes so the supervisor starts anew.
 *
 * Each message read from a POST's stream is delivered with the id of the request that POST
 * carried, so a server's request during a call can be tied to that call. A 2026-07-28 message
 * (one that carries the modern envelope) goes with its routing headers and without the session;
 * cancelling such a request closes its stream, as that revision says.
 */
import type { Agent, ClientRequest, IncomingMessage, OutgoingHttpHeaders } from 'node:http';
import { FleetError } from '../protocol/errors';
import { encodeJson } from '../protocol/encode';
import { answerForRefused, DEFAULT_MAX_MESSAGE_BYTES, parseMessageOrBatch, prunedItems, type FrameKind, type ParsedMessage } from '../protocol/frames';
import { DEFAULT_MAX_DEPTH, jsonLimitsOf, type MessageLimits } from '../protocol/json-limits';
import { errorResponse, isRequest, type JsonRpcMessage, type RequestId } from '../protocol/jsonrpc';
import { routingHeaders } from '../protocol/routing-headers';
import type { TlsClientOptions } from '../protocol/tls-client';
import type { HttpPoolStats, MessageTransport, ReceivedContext } from '../protocol/transport';
import { endpoint, exchange, mediaType, readText, statusError, type Endpoint } from './http-exchange';
import { MicrotaskQueue } from './microtask-queue';
import { ResponseStreams, type ReconnectOptions } from './response-streams';

export type { ReconnectOptions } from './response-streams';

export interface StreamableHttpTransportOptions {
  /**
   * Sent with every request (e.g. Authorization). A function is read before each request, so a
   * rotated credential goes with the next one; it should return the same object while nothing changed.
   */
  headers?: Readonly<Record<string, string>> | (() => Readonly<Record<string, string>>);
  /**
   * Runs before each message is POSTed: a promise delays it until it settles (a credential the
   * headers will carry is being fetched), and a rejection fails the send with its error.
   */
  prepare?: () => Promise<void> | undefined;
  /** Connect to this IP instead of resolving the URL's host (one replica of a DNS replica set). */
  address?: string;
  /**
   * Connections for POSTed requests, each held while its answer streams (default 64). Notifications,
   * responses and DELETE go over up to 16 others, so they never queue behind long calls.
   */
  maxSockets?: number;
  /** For resuming dropped SSE streams; a server's `retry:` hint replaces the delay. */
  reconnect?: Partial<ReconnectOptions>;
  /** How long close() waits for the DELETE that ends the session (default 2000 ms). */
  closeTimeoutMs?: number;
  /** CA, client certificate and server name for an https: URL. */
  tls?: TlsClientOptions;
  /** What the gateway takes from the server (default: DEFAULT_MAX_MESSAGE_BYTES, DEFAULT_MAX_DEPTH). */
  limits?: MessageLimits;
  /** The server's name, for the errors its refused messages become. */
  server?: string;
}

const ACCEPT_BOTH = 'application/json, text/event-stream';

export class StreamableHttpTransport implements MessageTransport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JsonRpcMessage, context?: ReceivedContext) => void;
  onactivity?: () => void;

  private readonly ep: Endpoint;
  private readonly requestAgent: Agent;
  private readonly replyAgent: Agent;
  private readonly reconnect: ReconnectOptions;
  private readonly open = new Set<ClientRequest>();
  /** The POSTs of 2026-07-28 requests whose answer has not begun (no response headers yet), by request id, so that cancelling one aborts it. */
  private readonly posting = new Map<RequestId, ClientRequest>();
  private readonly cancelledPosts = new WeakSet<ClientRequest>();
  /** The requests sent on requestAgent's sockets, and those that found one open (httpPool). */
  private readonly counts = { requests: 0, reused: 0 };
  private readonly streams: ResponseStreams;
  /** Incoming messages and stream ends, in order (see MicrotaskQueue for why not all at once). */
  private readonly inbox = new MicrotaskQueue((err) => this.onerror?.(err));
  private session: string | undefined;
  private protocolVersion: string | undefined;
  private built!: OutgoingHttpHeaders;
  /** The configured headers `built` was made from. */
  private builtFrom: Readonly<Record<string, string>> | undefined;
  private closed = false;
  private closing: Promise<void> | undefined;
  private readonly limits: MessageLimits;

  constructor(
    url: string,
    private readonly options: StreamableHttpTransportOptions = {},
  ) {
    this.ep = endpoint(url, options.tls, options.address);
    this.limits = options.limits ?? { maxMessageBytes: DEFAULT_MAX_MESSAGE_BYTES, maxDepth: DEFAULT_MAX_DEPTH };
    this.requestAgent = this.ep.agent(options.maxSockets ?? 64);
    this.replyAgent = this.ep.agent(16);
    this.reconnect = { maxRetries: 5, initialDelayMs: 500, maxDelayMs: 10_000, ...options.reconnect };
    this.updateHeaders();
    this.streams = new ResponseStreams({
      ep: this.ep,
      open: this.open,
      agent: this.requestAgent,
      inbox: this.inbox,
      reconnect: this.reconnect,
      maxEventChars: this.limits.maxMessageBytes,
      isClosed: () => this.closed,
      headers: () => this.headers,
      hasSession: () => this.session !== undefined,
      deliver: (text, owed, what, origin) => this.deliverText(text, owed, what, origin),
      activity: () => this.onactivity?.(),
      abandon: (owed, cause) => this.abandon(owed, cause),
      expire: (method) => void this.expire(method),
      onerror: (error) => this.onerror?.(error),
    });
  }

  get sessionId(): string | undefined {
    return this.session;
  }

  setProtocolVersion(version: string): void {
    this.protocolVersion = version;
    this.updateHeaders();
  }

  async start(): Promise<void> {
    if (this.closed) throw this.closedError();
  }

  /** Resolves once the server accepted the message; a request's answer arrives through onmessage. */
  async send(message: JsonRpcMessage, options?: { headers?: Record<string, string> }): Promise<void> {
    if (this.closed) throw this.closedError();
    const m = message;
    const body = encodeJson(m);
    const request = isRequest(m);
    const routing = routingHeaders(m);
    const preparing = this.options.prepare?.();
    if (preparing) await preparing;
    // the message's own (X-Request-Id; a modern call's Mcp-Param-*) never replace the session's or the configured ones
    let base = { ...options?.headers, ...this.headers };
    if (routing) {
      // A 2026-07-28 message belongs to no session: its own version and routing headers instead.
      const { 'mcp-session-id': _session, 'mcp-protocol-version': _version, ...rest } = this.headers;
      base = { ...rest, ...options?.headers, ...routing };
    }
    let res: IncomingMessage;
    // A modern request is cancelled by closing its exchange, also before the server's answer began.
    const modernId = routing !== undefined && isRequest(m) ? m.id : undefined;
    let post: ClientRequest | undefined;
    try {
      res = await exchange(this.ep, {
        method: 'POST',
        headers: { ...base, 'content-type': 'application/json', accept: ACCEPT_BOTH, 'content-length': Buffer.byteLength(body) },
        body,
        agent: request ? this.requestAgent : this.replyAgent,
        open: this.open,
        ...(request ? { counts: this.counts } : {}),
        started: modernId === undefined ? undefined : (req) => void this.posting.set(modernId, (post = req)),
      });
    } catch (err) {
      // cancelled: the caller was told already, and the transport is fine
      if (post !== undefined && this.cancelledPosts.has(post) && !this.closed) return;
      throw this.closed ? this.closedError() : err;
    } finally {
      if (modernId !== undefined && this.posting.get(modernId) === post) this.posting.delete(modernId);
    }
    // cancelled between the answer's headers and this line: its body is not wanted
    if (post !== undefined && this.cancelledPosts.has(post)) return void res.destroy();
    const sid = res.headers['mcp-session-id'];
    if (!routing && typeof sid === 'string' && sid !== this.session) {
      this.session = sid;
      this.updateHeaders();
    }
    if (res.statusCode === 404 && this.session !== undefined) {
      res.resume();
      throw this.expire('POST');
    }
    if (routing && request && res.statusCode! >= 400 && res.statusCode! < 500) return this.refused(res, m.id);
    if (res.statusCode! < 200 || res.statusCode! >= 300) throw await statusError(this.ep, 'POST', res);
    if (!request) {
      res.resume();
      if ('method' in m && m.method === 'notifications/initialized') this.streams.open({ owed: new Set(), standalone: true, failures: 0 });
      return;
    }
    const owed = new Set<RequestId>([m.id]);
    const type = mediaType(res.headers['content-type']);
    if (type === 'text/event-stream') this.streams.consume(res, { owed, origin: m.id, standalone: false, failures: 0 });
    else if (type === 'application/json') void this.readJson(res, owed, m.id);
    else {
      res.resume();
      this.abandon(owed, new Error(`unexpected answer: HTTP ${res.statusCode} with content-type ${JSON.stringify(type || 'none')}`));
    }
  }

  /**
   * A 2026-07-28 server refuses a request with a 4xx and the JSON-RPC error for it (a header
   * mismatch, a capability the request did not declare): that is the request's answer, not a
   * broken transport. Any other 4xx is the transport's failure, as before.
   */
  private async refused(res: IncomingMessage, id: RequestId): Promise<void> {
    const text = await readText(res).catch(() => '');
    const parsed = mediaType(res.headers['content-type']) === 'application/json' ? parseMessageOrBatch(text, 'body') : undefined;
    const answer = parsed?.ok && 'message' in parsed ? parsed.message : undefined;
    if (!answer || 'method' in answer || answer.id !== id) throw await statusError(this.ep, 'POST', res, text);
    this.inbox.run(() => this.onmessage?.(answer, { inResponseTo: id }));
  }

  /** The keep-alive connections requests go on (a listen stream or a streamed answer holds one while it lasts). */
  httpPool(): HttpPoolStats {
    const agent = this.requestAgent;
    const { requests, reused } = this.counts;
    return {
      inUse: socketCount(agent.sockets),
      idle: socketCount(agent.freeSockets),
      waiting: socketCount(agent.requests),
      requests,
      reused,
      efficiency: requests === 0 ? 1 : reused / requests,
    };
  }

  /** Aborts the exchange of request `id` (its POST, or its response stream, never resumed); false when none is open. */
  cancel(id: RequestId): boolean {
    const post = this.posting.get(id);
    if (!post) return this.streams.cancel(id);
    this.posting.delete(id);
    this.cancelledPosts.add(post);
    post.destroy();
    return true;
  }

  /** Aborts open requests and streams, ends the session with DELETE, then reports onclose once. */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    this.closed = true;
    this.streams.stop();
    for (const req of this.open) req.destroy(this.closedError());
    if (this.session !== undefined) await this.deleteSession();
    this.requestAgent.destroy();
    this.replyAgent.destroy();
    this.onclose?.();
  }

  /** The spec's way to end a session; a server may refuse with 405, and one that is gone cannot answer. */
  private async deleteSession(): Promise<void> {
    try {
      const res = await exchange(this.ep, {
        method: 'DELETE',
        headers: this.headers,
        agent: this.replyAgent,
        open: new Set(),
        timeoutMs: this.options.closeTimeoutMs ?? 2000,
      });
      if (res.statusCode! >= 300 && res.statusCode !== 404 && res.statusCode !== 405) this.onerror?.(await statusError(this.ep, 'DELETE', res));
      else res.resume();
    } catch (err) {
      this.onerror?.(err as Error);
    }
    this.session = undefined;
  }

  private async readJson(res: IncomingMessage, owed: Set<RequestId>, origin: RequestId): Promise<void> {
    let text: string;
    try {
      text = await readText(res, this.limits.maxMessageBytes, () => this.onactivity?.());
    } catch (err) {
      if (!this.closed) this.abandon(owed, err as Error);
      return;
    }
    this.inbox.run(() => {
      this.deliverText(text, owed, 'body', origin);
      if (owed.size > 0 && !this.closed) this.abandon(owed, new Error('the JSON answer did not contain the response'));
    });
  }

  /** Delivers the messages of an SSE event or a JSON answer; a bad one is reported and the good ones in its batch still go. */
  private deliverText(text: string, owed: Set<RequestId>, what: FrameKind, origin: RequestId | undefined): void {
    const parsed = parseMessageOrBatch(text, what, jsonLimitsOf(this.limits));
    const items: ParsedMessage[] = !parsed.ok || 'message' in parsed ? [parsed] : parsed.batch;
    for (const item of items) {
      if (item.ok && item.dropped) this.onerror?.(prunedItems(`server "${this.options.server ?? this.ep.display}"`, item.dropped));
      if (!item.ok) {
        this.onerror?.(
          new FleetError('UPSTREAM_BAD_MESSAGE', `${this.ep.display} sent a message the gateway refused: ${item.error.message}`, { cause: item.error }),
        );
        const answer = answerForRefused(item, `server "${this.options.server ?? this.ep.display}"`);
        if (answer && owed.delete(answer.id as RequestId)) this.onmessage?.(answer, origin === undefined ? undefined : { inResponseTo: origin });
        continue;
      }
      const m = item.message;
      if (!('method' in m)) owed.delete(m.id as RequestId);
      this.onmessage?.(m, origin === undefined ? undefined : { inResponseTo: origin });
    }
  }

  /** Answers requests whose response can no longer arrive, so their callers learn now rather than at their timeout. */
  private abandon(owed: Set<RequestId>, cause: Error): void {
    if (owed.size === 0) return;
    const ids = [...owed];
    owed.clear();
    const error =
      cause instanceof FleetError
        ? cause
        : new FleetError('UPSTREAM_UNAVAILABLE', `${this.ep.display}: no answer to request ${ids.join(', ')}: ${cause.message}`, { cause });
    this.onerror?.(error);
    for (const id of ids) this.onmessage?.(errorResponse(id, error.toJsonRpcError()), { failure: error });
  }

  /** The server no longer knows the session: close (without DELETE) so the owner initializes a new one. */
  private expire(method: 'GET' | 'POST'): FleetError {
    const error = new FleetError('UPSTREAM_UNAVAILABLE', `${method} ${this.ep.display}: HTTP 404, the server ended session ${this.session}`);
    this.session = undefined;
    this.onerror?.(error);
    void this.close();
    return error;
  }

  /** What every request carries: the configured headers as they are now, the session and the protocol version. */
  private get headers(): OutgoingHttpHeaders {
    const configured = typeof this.options.headers === 'function' ? this.options.headers() : this.options.headers;
    if (configured !== this.builtFrom) this.updateHeaders();
    return this.built;
  }

  private updateHeaders(): void {
    const configured = typeof this.options.headers === 'function' ? this.options.headers() : this.options.headers;
    const h: OutgoingHttpHeaders = { ...configured };
    if (this.session !== undefined) h['mcp-session-id'] = this.session;
    if (this.protocolVersion !== undefined) h['mcp-protocol-version'] = this.protocolVersion;
    this.builtFrom = configured;
    this.built = h;
  }

  private closedError(): FleetError {
    return new FleetError('UPSTREAM_UNAVAILABLE', `transport to ${this.ep.display} is closed`);
  }
}

/** How many an agent's per-host lists hold. */
function socketCount(byHost: NodeJS.ReadOnlyDict<readonly unknown[]>): number {
  let n = 0;
  for (const list of Object.values(byHost)) n += list?.length ?? 0;
  return n;
}
