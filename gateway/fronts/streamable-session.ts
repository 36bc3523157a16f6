/**
 * One Streamable HTTP session: the FrontChannel its ClientSession sends through, and the HTTP side
 * of it. Each outgoing message goes to the POST it belongs to (a response by its id, anything else
 * by the request it relates to) or, related to no request, to the standalone GET stream. Serves
 * that GET stream and the resumption of any stream with Last-Event-ID from a bounded event store,
 * and ends everything it opened when the session closes.
 */
import type { ServerResponse } from 'node:http';
import type { Principal } from '../auth/principal';
import { FleetError } from '../protocol/errors';
import { RefusedMessage } from '../protocol/frames';
import { isRequest, isResponse, type JsonRpcMessage, type RequestId } from '../protocol/jsonrpc';
import type { ClientSession, FrontChannel, Handshake } from '../session/client-session';
import { SessionEventStore, type EventStoreLimits } from './event-store';
import { PostExchange, type ExchangeHost } from './post-exchange';
import { SseStream, UNBOUNDED, type SendQueueLimit } from './sse-stream';

/** Stream 0 is the standalone GET stream; streams of POSTs are numbered from 1. */
const STANDALONE = 0;

export interface PostOptions {
  /** The body was a JSON array. */
  batch: boolean;
  /** The client's protocol version takes a priming event. */
  priming: boolean;
  /** The client's Accept prefers an SSE stream to a JSON body. */
  preferStream: boolean;
  /** The POST's request id (X-Request-Id, the client's or the listener's), bound to its requests. */
  requestId: string;
}

/** What the front hears of a session: its handshake done (once), and its end (once). */
export interface SessionEvents {
  opened(session: StreamableSession, handshake: Handshake): Promise<void> | void;
  closed(session: StreamableSession): void;
}

export class StreamableSession implements FrontChannel, ExchangeHost {
  readonly kind = 'streamable-http' as const;
  readonly client: ClientSession;
  /** HTTP requests open on this session right now (POSTs awaiting answers, streams). */
  openRequests = 0;
  /** Taken up from another replica: event ids the client has are that replica's, whose events are gone. */
  resumed = false;

  private readonly store: SessionEventStore;
  private readonly byRequest = new Map<RequestId, PostExchange>();
  private readonly byStream = new Map<number, PostExchange>();
  private standalone: SseStream | undefined;
  private nextStream = STANDALONE + 1;
  private closed = false;
  /** The id of the initialize request that opened the session, until it is answered. */
  private initializeId: RequestId | undefined;
  /** initialize was refused: the session never existed for the client, and goes at once. */
  private refused = false;

  /** `open` makes the ClientSession for this channel; `events` hear of its handshake and its end. */
  constructor(
    readonly id: string,
    readonly principal: Principal,
    open: (channel: FrontChannel) => ClientSession,
    private readonly events: SessionEvents,
    readonly refusalStatus?: ExchangeHost['refusalStatus'],
    limits?: EventStoreLimits,
    readonly sendQueue: SendQueueLimit = UNBOUNDED,
  ) {
    this.store = new SessionEventStore(limits);
    this.client = open(this);
  }

  /** The Mcp-Session-Id. */
  get sessionId(): string {
    return this.id;
  }

  opened(handshake: Handshake): Promise<void> | void {
    return this.events.opened(this, handshake);
  }

  /** Headers every reply of the session carries; none for the answer that refused to open it. */
  get replyHeaders(): Record<string, string> {
    return this.refused ? {} : { 'mcp-session-id': this.id };
  }

  /** The POST that opens the session carries initialize with this id: a refusal ends the session. */
  expectInitialize(id: RequestId): void {
    this.initializeId = id;
  }

  /** What the session holds for replay and routing (for tests and leak checks). */
  get held(): { exchanges: number; streams: number; events: number } {
    return { exchanges: new Set(this.byRequest.values()).size, streams: this.byStream.size, events: this.store.size.events };
  }

  /** Takes the messages of a POST: answered with 202 if none is a request, else by a PostExchange. */
  post(res: ServerResponse, messages: readonly JsonRpcMessage[], options: PostOptions): void {
    const ids = messages.filter(isRequest).map((m) => m.id);
    // An id in flight names the POST its answer goes to: a second one would take the first's answer and leave it hanging.
    const taken = ids.find((id, i) => this.byRequest.has(id) || ids.indexOf(id) !== i);
    if (taken !== undefined)
      throw new RefusedMessage(
        new FleetError('INVALID_REQUEST', `Invalid Request: id ${JSON.stringify(taken)} belongs to a request still in flight in this session; use a new id`),
        taken,
      );
    this.begin(res);
    if (ids.length === 0) {
      res.writeHead(202).end();
    } else {
      const exchange = new PostExchange(res, ids, options.batch, options.priming, this);
      for (const id of ids) this.byRequest.set(id, exchange);
      if (options.preferStream) exchange.startStream();
    }
    for (const m of messages) this.client.receive(m, options.requestId);
  }

  /** Opens the standalone stream, or resumes the stream `lastEventId` belongs to. */
  get(res: ServerResponse, lastEventId: string | undefined, priming: boolean): void {
    if (lastEventId === undefined) {
      if (this.standalone) throw new FleetError('STREAM_CONFLICT', 'Conflict: Only one SSE stream is allowed per session');
      this.begin(res);
      this.standalone = this.openStandalone(res, priming ? this.store.cursor(STANDALONE) : undefined);
      return;
    }
    const replay = this.store.replayAfter(lastEventId);
    if (!replay && this.resumed) {
      this.client.log.info({ lastEventId }, 'stream resumed on another replica: the events the first one sent after it are lost');
      return this.get(res, undefined, priming);
    }
    if (!replay || replay.stream >= this.nextStream) {
      throw new FleetError('INVALID_REQUEST', `Bad Request: Last-Event-ID ${lastEventId} is not an event of this session`);
    }
    if (replay.gap) this.client.log.info({ lastEventId }, 'resumed stream misses events the session no longer keeps');
    this.begin(res);
    const exchange = this.byStream.get(replay.stream);
    if (exchange) return exchange.resume(res, replay.events);
    const sse = replay.stream === STANDALONE ? this.openStandalone(res, undefined) : new SseStream(res, this.replyHeaders, undefined, () => {}, this.sendQueue);
    for (const e of replay.events) sse.send(e.id, e.data);
    if (replay.stream !== STANDALONE) return sse.end(); // that POST is answered: nothing more will come
    this.standalone?.end();
    this.standalone = sse;
  }

  /** Ends the session from the HTTP side (DELETE, idle, shutdown): the ClientSession closes, then this channel. */
  async end(): Promise<void> {
    await this.client.close();
    await this.close();
  }

  // ---- FrontChannel -----------------------------------------------------------------------

  async send(message: JsonRpcMessage, relatedRequestId?: RequestId): Promise<void> {
    if (this.closed) throw new Error('the Streamable HTTP session is closed');
    const responseTo = isResponse(message) ? message.id : undefined;
    if (responseTo === null) throw new Error('a response without an id has no POST to go to');
    const key = responseTo ?? relatedRequestId;
    if (key === undefined) return this.toStandalone(message);
    const exchange = this.byRequest.get(key);
    if (!exchange) throw new Error(`no open POST for request ${JSON.stringify(key)}: it was answered or its client went away`);
    const refusesInitialize = responseTo !== undefined && responseTo === this.initializeId && 'error' in message;
    if (responseTo !== undefined && responseTo === this.initializeId) this.initializeId = undefined;
    if (refusesInitialize) this.refused = true;
    exchange.deliver(message, responseTo);
    // A session whose initialize failed holds nothing for anyone: it goes now, not at the idle sweep.
    if (refusesInitialize) void this.end();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.events.closed(this);
    for (const exchange of new Set(this.byRequest.values())) exchange.close();
    this.byRequest.clear();
    this.byStream.clear();
    this.standalone?.end();
    this.standalone = undefined;
    this.store.clear();
  }

  // ---- ExchangeHost -----------------------------------------------------------------------

  openStream(exchange: PostExchange, priming: boolean): { stream: number; primingId: string | undefined } {
    const stream = this.nextStream++;
    this.byStream.set(stream, exchange);
    return { stream, primingId: priming ? this.store.cursor(stream) : undefined };
  }

  record(stream: number, data: string): string {
    return this.store.append(stream, data);
  }

  finished(exchange: PostExchange): void {
    for (const id of exchange.requestIds) if (this.byRequest.get(id) === exchange) this.byRequest.delete(id);
    if (exchange.stream !== undefined) this.byStream.delete(exchange.stream);
  }

  // -----------------------------------------------------------------------------------------

  /** Counts the request as open until its connection closes, for the idle sweep. */
  private begin(res: ServerResponse): void {
    if (this.closed) throw new FleetError('SESSION_NOT_FOUND', `Session not found: ${this.id} (it ended; initialize a new one)`);
    this.openRequests++;
    res.once('close', () => {
      this.openRequests--;
      this.client.touch();
    });
  }

  private openStandalone(res: ServerResponse, primingId: string | undefined): SseStream {
    return new SseStream(
      res,
      this.replyHeaders,
      primingId,
      (s) => {
        if (this.standalone === s) this.standalone = undefined;
      },
      this.sendQueue,
    );
  }

  /** Messages related to no request; kept even while no GET stream is open, for a client that resumes. */
  private toStandalone(message: JsonRpcMessage): void {
    const data = JSON.stringify(message);
    const id = this.store.append(STANDALONE, data);
    this.standalone?.send(id, data);
  }
}
