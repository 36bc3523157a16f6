/**
 * One POST of the Streamable HTTP front that carried requests, from its arrival to its last response.
 *
 * Lazy SSE: when every response is ready before anything else must go out for this POST, the answer
 * is a plain application/json body. The POST becomes an SSE stream only when a notification or a
 * server request related to it has to go first (progress, log messages, sampling, elicitation), or
 * when the client prefers a stream. A stream whose connection drops lives on in the session's event
 * store, and the client can resume it with Last-Event-ID, until its last response went out.
 */
import type { ServerResponse } from 'node:http';
import type { JsonRpcMessage, RequestId } from '../protocol/jsonrpc';
import type { StoredEvent } from './event-store';
import { SseStream, type SendQueueLimit } from './sse-stream';

/** What an exchange needs from its session. */
export interface ExchangeHost {
  /** Headers every reply of the session carries (Mcp-Session-Id). */
  readonly replyHeaders: Record<string, string>;
  /** The bound on what a stream of the session holds for a client that does not read. */
  readonly sendQueue: SendQueueLimit;
  /** Gives `exchange` a replayable stream; returns its number, and a priming event id if `priming`. */
  openStream(exchange: PostExchange, priming: boolean): { stream: number; primingId: string | undefined };
  /** Keeps an event of `stream` for replay and returns its id. */
  record(stream: number, data: string): string;
  /** The exchange is over: every request was answered, or its client left before it became a stream. */
  finished(exchange: PostExchange): void;
  /** Status and headers of a JSON answer that is one refusal the HTTP layer must show (403 insufficient_scope); else undefined for 200. */
  refusalStatus?(response: JsonRpcMessage): { status: number; headers: Record<string, string> } | undefined;
}

export class PostExchange {
  private readonly waiting: Set<RequestId>;
  /** Serialized responses held back for the JSON body. */
  private readonly ready: string[] = [];
  /** The first response, for the status of a JSON answer to a single request. */
  private first: JsonRpcMessage | undefined;
  /** The POST's own response while it is still undecided (neither answered with JSON nor a stream). */
  private res: ServerResponse | undefined;
  private sink: SseStream | undefined;
  private streamNo: number | undefined;

  /**
   * `batch`: the POST body was an array, so a JSON answer is one too. `priming`: the client can take
   * a priming event, should this become a stream.
   */
  constructor(
    res: ServerResponse,
    readonly requestIds: readonly RequestId[],
    private readonly batch: boolean,
    private readonly priming: boolean,
    private readonly host: ExchangeHost,
  ) {
    this.waiting = new Set(requestIds);
    this.res = res;
    // A client that leaves before anything was sent cannot resume: nothing of this POST is kept.
    res.once('close', () => {
      if (this.res !== res) return;
      this.res = undefined;
      host.finished(this);
    });
  }

  /** The replayable stream this POST became, if it did. */
  get stream(): number | undefined {
    return this.streamNo;
  }

  /** Sends one message for this POST; `responseTo` is the request id when it is a response. */
  deliver(message: JsonRpcMessage, responseTo: RequestId | undefined): void {
    const data = JSON.stringify(message);
    if (responseTo !== undefined) this.waiting.delete(responseTo);
    if (this.streamNo === undefined) {
      if (responseTo !== undefined) {
        this.first ??= message;
        this.ready.push(data);
        if (this.waiting.size === 0) this.answerJson();
        return;
      }
      this.startStream();
    }
    this.emit(data);
    if (this.waiting.size === 0) this.complete();
  }

  /** Turns the POST into an SSE stream now: the headers (and priming event) go out at once. */
  startStream(): void {
    if (this.streamNo !== undefined) return;
    const { stream, primingId } = this.host.openStream(this, this.priming);
    this.streamNo = stream;
    const res = this.res;
    this.res = undefined;
    if (res) this.sink = new SseStream(res, this.host.replyHeaders, primingId, (s) => this.detach(s), this.host.sendQueue);
    for (const data of this.ready.splice(0)) this.emit(data);
  }

  /** A client reconnected with Last-Event-ID: `missed` go out first, then the rest of the stream. */
  resume(res: ServerResponse, missed: readonly StoredEvent[]): void {
    this.sink?.end();
    this.sink = new SseStream(res, this.host.replyHeaders, undefined, (s) => this.detach(s), this.host.sendQueue);
    for (const e of missed) this.sink.send(e.id, e.data);
  }

  /** The session is closing: whatever is still open ends now. */
  close(): void {
    if (this.res) this.startStream();
    this.sink?.end();
    this.sink = undefined;
  }

  private emit(data: string): void {
    const id = this.host.record(this.streamNo!, data);
    this.sink?.send(id, data);
  }

  private answerJson(): void {
    const res = this.res!;
    this.res = undefined;
    const body = this.batch ? `[${this.ready.join(',')}]` : this.ready[0];
    const refusal = this.batch || !this.first ? undefined : this.host.refusalStatus?.(this.first);
    res.writeHead(refusal?.status ?? 200, {
      'content-type': 'application/json',
      'content-length': String(Buffer.byteLength(body)),
      ...this.host.replyHeaders,
      ...refusal?.headers,
    });
    res.end(body);
    this.host.finished(this);
  }

  private complete(): void {
    this.sink?.end();
    this.sink = undefined;
    this.host.finished(this);
  }

  private detach(sink: SseStream): void {
    if (this.sink === sink) this.sink = undefined;
  }
}
