/**
 * An incremental Server-Sent Events decoder (the WHATWG event-stream format) for the upstream
 * Streamable HTTP transport: text goes in as it arrives, in chunks cut anywhere, and each
 * complete event comes out. It keeps the last event ID and the server's `retry` hint, which the
 * transport needs to resume a dropped stream.
 *
 * The work is linear in the text received, however long one line or event is: only new text is
 * searched for line ends, a line cut across chunks is joined once when it ends, and data lines
 * are joined once when their event ends. An event longer than `maxEventChars` is dropped (its
 * other fields, such as its id, still count), so one event cannot make the gateway hold unbounded text.
 */
import { DEFAULT_MAX_MESSAGE_BYTES } from '../protocol/frames';

export interface SseEvent {
  /** The event type; "message" when the server named none. */
  event: string;
  data: string;
  /** The last event ID at the time of this event (ids persist across events, as in EventSource). */
  id: string | undefined;
}

export interface SseDecoderOptions {
  /** Text an event's data and its line being read may hold, in UTF-16 code units (default 128 Mi). */
  maxEventChars?: number;
  /** Told once per event that passed maxEventChars and is dropped. */
  oversized?: (maxEventChars: number) => void;
}

/** Characters searched for line ends (each at most once per terminator) and copied to join cut lines and data: a test seam for linearity. */
export interface SseDecoderWork {
  scanned: number;
  joined: number;
}

export class SseDecoder {
  /** The last `id` the stream set, including on events without data (priming events). */
  lastEventId: string | undefined;
  /** The reconnection delay the server asked for with `retry:`, in ms. */
  retryMs: number | undefined;
  readonly work: SseDecoderWork = { scanned: 0, joined: 0 };

  private readonly maxEventChars: number;
  /** The line being read, in the pieces the chunks brought, before its terminator arrived. */
  private pieces: string[] = [];
  private pieceChars = 0;
  /** The current line passed the limit: drop its text until its terminator. */
  private skippingLine = false;
  private skipLeadingLF = false;
  private started = false;
  private dataLines: string[] = [];
  private dataChars = 0;
  /** The current event passed the limit: it is not dispatched. */
  private dropped = false;
  private eventType = '';
  private idBuffer: string | undefined;

  constructor(
    private readonly onEvent: (event: SseEvent) => void,
    private readonly options: SseDecoderOptions = {},
  ) {
    this.maxEventChars = options.maxEventChars ?? DEFAULT_MAX_MESSAGE_BYTES;
  }

  push(chunk: string): void {
    let text = chunk;
    if (!this.started && text.length > 0) {
      this.started = true;
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    }
    if (this.skipLeadingLF && text.length > 0) {
      this.skipLeadingLF = false;
      if (text.charCodeAt(0) === 10) text = text.slice(1);
    }
    let begin = 0;
    let lf = this.find(text, '\n', 0);
    let cr = this.find(text, '\r', 0);
    while (lf !== -1 || cr !== -1) {
      const end = cr !== -1 && (lf === -1 || cr < lf) ? cr : lf;
      this.endLine(text, begin, end);
      begin = end + 1;
      if (end === cr) {
        if (begin === text.length)
          this.skipLeadingLF = true; // a CRLF may be cut between chunks
        else if (text.charCodeAt(begin) === 10) begin++;
      }
      if (lf !== -1 && lf < begin) lf = this.find(text, '\n', begin);
      if (cr !== -1 && cr < begin) cr = this.find(text, '\r', begin);
    }
    if (begin < text.length) this.hold(text.slice(begin));
  }

  /** indexOf, counting the characters it passes over. */
  private find(text: string, terminator: string, from: number): number {
    const at = text.indexOf(terminator, from);
    this.work.scanned += (at === -1 ? text.length : at + 1) - from;
    return at;
  }

  /** Keeps the start of a line whose terminator has not arrived, unless the event would pass the limit. */
  private hold(piece: string): void {
    if (this.skippingLine) return;
    if (this.dataChars + this.pieceChars + piece.length > this.maxEventChars) {
      this.pieces = [];
      this.pieceChars = 0;
      this.skippingLine = true;
      this.drop();
      return;
    }
    this.pieces.push(piece);
    this.pieceChars += piece.length;
  }

  private endLine(text: string, begin: number, end: number): void {
    if (this.skippingLine) {
      this.skippingLine = false;
      return;
    }
    let line = text.slice(begin, end);
    if (this.pieces.length > 0) {
      this.pieces.push(line);
      line = this.pieces.join('');
      this.work.joined += line.length;
      this.pieces = [];
      this.pieceChars = 0;
    }
    this.line(line);
  }

  private line(line: string): void {
    if (line.length === 0) return this.dispatch();
    if (line.charCodeAt(0) === 58) return; // ":" starts a comment (keep-alives)
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.charCodeAt(0) === 32) value = value.slice(1);
    switch (field) {
      case 'data':
        this.data(value);
        break;
      case 'event':
        this.eventType = value;
        break;
      case 'id':
        if (!value.includes('\0')) this.idBuffer = value;
        break;
      case 'retry':
        if (/^\d+$/.test(value)) this.retryMs = Number(value);
        break;
    }
  }

  private data(value: string): void {
    if (this.dropped) return;
    if (this.dataChars + value.length > this.maxEventChars) return this.drop();
    this.dataLines.push(value);
    this.dataChars += value.length + 1;
  }

  /** The current event passed the limit: its data goes now, and the owner hears of it once. */
  private drop(): void {
    this.dataLines = [];
    this.dataChars = 0;
    if (this.dropped) return;
    this.dropped = true;
    this.options.oversized?.(this.maxEventChars);
  }

  private dispatch(): void {
    this.lastEventId = this.idBuffer;
    const lines = this.dataLines;
    const event = this.eventType || 'message';
    const dropped = this.dropped;
    this.dataLines = [];
    this.dataChars = 0;
    this.dropped = false;
    this.eventType = '';
    if (lines.length === 0 || dropped) return;
    const data = lines.length === 1 ? lines[0] : lines.join('\n');
    if (lines.length > 1) this.work.joined += data.length;
    this.onEvent({ event, data, id: this.lastEventId });
  }
}
