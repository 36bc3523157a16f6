/**
 * The SSE streams of one Streamable HTTP upstream: each POST's response stream and the standalone
 * GET stream, read as they arrive, resumed with Last-Event-ID when dropped (after the server's
 * `retry:` hint, else a doubling delay), and closed on purpose when their request is cancelled.
 * What they carry goes back to the transport (streamable-http-transport.ts), which delivers it;
 * only the streams' mechanics live here.
 */
import type { Agent, ClientRequest, IncomingMessage, OutgoingHttpHeaders } from 'node:http';
import { FleetError } from '../protocol/errors';
import type { FrameKind } from '../protocol/frames';
import type { RequestId } from '../protocol/jsonrpc';
import { exchange, mediaType, statusError, type Endpoint } from './http-exchange';
import type { MicrotaskQueue } from './microtask-queue';
import { SseDecoder } from './sse-decoder';

export interface ReconnectOptions {
  /** Failed attempts in a row before giving up on a stream (default 5). */
  maxRetries: number;
  /** Delay before the first attempt, doubling after each failure (default 500 ms). */
  initialDelayMs: number;
  maxDelayMs: number;
}

/** An SSE stream and what it still owes: the answers to the request that opened it (none for the GET stream). */
export interface Stream {
  owed: Set<RequestId>;
  /** The request whose POST opened the stream (none for the GET stream). */
  origin?: RequestId;
  standalone: boolean;
  lastEventId?: string;
  retryMs?: number;
  failures: number;
}

/** What the streams need of their transport. */
export interface StreamHost {
  readonly ep: Endpoint;
  /** Requests still open, so that closing the transport aborts them. */
  readonly open: Set<ClientRequest>;
  /** The pooled agent of requests (a resumed response stream is one). */
  readonly agent: Agent;
  readonly inbox: MicrotaskQueue;
  readonly reconnect: ReconnectOptions;
  /** The longest event the server may send (its limits.maxMessageBytes). */
  readonly maxEventChars: number;
  isClosed(): boolean;
  headers(): OutgoingHttpHeaders;
  hasSession(): boolean;
  deliver(text: string, owed: Set<RequestId>, what: FrameKind, origin: RequestId | undefined): void;
  /** Bytes arrived on a stream (maybe part of an event). */
  activity(): void;
  abandon(owed: Set<RequestId>, cause: Error): void;
  /** The server forgot the session (404). */
  expire(method: 'GET'): void;
  onerror(error: Error): void;
}

export class ResponseStreams {
  private readonly timers = new Set<NodeJS.Timeout>();
  /** The response streams of requests still owed an answer, by request id, so that cancelling one can close it. */
  private readonly responses = new Map<RequestId, { res: IncomingMessage; stream: Stream }>();

  constructor(private readonly host: StreamHost) {}

  /** Opens the standalone GET stream. */
  open(stream: Stream): void {
    void this.openStream(stream);
  }

  /** No stream is reopened after this. */
  stop(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }

  /** Opens the standalone GET stream, or resumes a dropped one with Last-Event-ID. */
  private async openStream(stream: Stream): Promise<void> {
    const headers: OutgoingHttpHeaders = { ...this.host.headers(), accept: 'text/event-stream' };
    if (stream.lastEventId !== undefined) headers['last-event-id'] = stream.lastEventId;
    let res: IncomingMessage;
    try {
      // The standalone stream lives as long as the session: it gets a connection of its own, not a pooled one.
      res = await exchange(this.host.ep, { method: 'GET', headers, agent: stream.standalone ? false : this.host.agent, open: this.host.open });
    } catch (err) {
      if (!this.host.isClosed()) this.retry(stream, err as Error);
      return;
    }
    if (this.host.isClosed()) return void res.destroy();
    const type = mediaType(res.headers['content-type']);
    if (res.statusCode === 200 && type === 'text/event-stream') {
      stream.failures = 0;
      this.consume(res, stream);
      return;
    }
    if (res.statusCode === 404 && this.host.hasSession()) {
      res.resume();
      this.host.expire('GET');
      return;
    }
    if (res.statusCode === 405 && stream.standalone && stream.lastEventId === undefined) {
      res.resume(); // the server offers no stream of its own: fine
      return;
    }
    this.retry(
      stream,
      res.statusCode === 200
        ? new Error(`GET ${this.host.ep.display}: expected text/event-stream, got ${JSON.stringify(type || 'none')}`)
        : await statusError(this.host.ep, 'GET', res),
    );
  }

  /** Reads an SSE stream as it arrives; when it ends, resumes it if it still owes answers (or is the GET stream). */
  consume(res: IncomingMessage, stream: Stream): void {
    const decoder = new SseDecoder(
      (e) => {
        if (e.event === 'message' && e.data.length > 0) this.host.inbox.run(() => this.host.deliver(e.data, stream.owed, 'event', stream.origin));
      },
      { maxEventChars: this.host.maxEventChars, oversized: (max) => this.host.inbox.run(() => this.eventTooLarge(stream, max)) },
    );
    decoder.lastEventId = stream.lastEventId;
    for (const id of stream.owed) this.responses.set(id, { res, stream });
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => {
      this.host.activity();
      decoder.push(chunk);
    });
    let ended = false;
    const end = () => {
      if (ended) return;
      ended = true;
      for (const [id, open] of this.responses) if (open.res === res) this.responses.delete(id);
      stream.lastEventId = decoder.lastEventId;
      stream.retryMs = decoder.retryMs ?? stream.retryMs;
      const why = new Error(res.complete ? 'the server ended the stream' : 'the connection was lost');
      // After the messages already read: one of them may be the answer this stream owes.
      this.host.inbox.run(() => {
        if (this.host.isClosed() || (!stream.standalone && stream.owed.size === 0)) return;
        if (stream.standalone || stream.lastEventId !== undefined) this.retry(stream, why, true);
        else this.host.abandon(stream.owed, why);
      });
    };
    res.on('error', () => {}); // 'close' below says whether the stream was complete
    res.once('end', end);
    res.once('close', end);
  }

  /**
   * Schedules the next attempt to reopen a stream. A clean end is the spec's polling model (the
   * server closed on purpose and said when to come back), so it does not count as a failure.
   */
  private retry(stream: Stream, cause: Error, clean = false): void {
    if (this.host.isClosed()) return;
    if (!clean && ++stream.failures > this.host.reconnect.maxRetries) {
      const what = stream.standalone ? 'the GET stream for server notifications' : `the response stream for request ${[...stream.owed].join(', ')}`;
      const error = new FleetError(
        'UPSTREAM_UNAVAILABLE',
        `${this.host.ep.display}: cannot reopen ${what} (${stream.failures} attempts failed): ${cause.message}`,
        {
          cause,
        },
      );
      if (stream.standalone) this.host.onerror(error);
      else this.host.abandon(stream.owed, error);
      return;
    }
    const { initialDelayMs, maxDelayMs } = this.host.reconnect;
    const delay = stream.retryMs ?? Math.min(maxDelayMs, initialDelayMs * 2 ** Math.max(0, stream.failures - 1));
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      void this.openStream(stream);
    }, delay);
    this.timers.add(timer);
  }

  /** The dropped event may have been the answer a request stream owes: its callers learn now, not at their timeout. */
  private eventTooLarge(stream: Stream, maxEventChars: number): void {
    const error = new FleetError('UPSTREAM_UNAVAILABLE', `${this.host.ep.display} sent an SSE event longer than ${maxEventChars} characters; dropped`);
    if (stream.owed.size === 0) this.host.onerror(error);
    else this.host.abandon(stream.owed, error);
  }

  /** Closes the response stream of request `id` without resuming it; false when none is open. */
  cancel(id: RequestId): boolean {
    const open = this.responses.get(id);
    if (!open) return false;
    this.responses.delete(id);
    open.stream.owed.delete(id);
    open.res.destroy();
    return true;
  }
}
