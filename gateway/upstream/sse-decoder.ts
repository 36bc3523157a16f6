/**
 * An incremental Server-Sent Events decoder (the WHATWG event-stream format) for the upstream
 * Streamable HTTP transport: text goes in as it arrives, in chunks cut anywhere, and each
 * complete event comes out. It keeps the last event ID and the server's `retry` hint, which the
 * transport needs to resume a dropped stream.
 */

export interface SseEvent {
  /** The event type; "message" when the server named none. */
  event: string;
  data: string;
  /** The last event ID at the time of this event (ids persist across events, as in EventSource). */
  id: string | undefined;
}

export class SseDecoder {
  /** The last `id` the stream set, including on events without data (priming events). */
  lastEventId: string | undefined;
  /** The reconnection delay the server asked for with `retry:`, in ms. */
  retryMs: number | undefined;

  private partial = '';
  private skipLeadingLF = false;
  private started = false;
  private data: string | undefined;
  private eventType = '';
  private idBuffer: string | undefined;

  constructor(private readonly onEvent: (event: SseEvent) => void) {}

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
    // The partial line holds no terminator, so the search starts in the new text.
    const from = this.partial.length;
    const buf = this.partial + text;
    let begin = 0;
    let lf = buf.indexOf('\n', from);
    let cr = buf.indexOf('\r', from);
    while (lf !== -1 || cr !== -1) {
      const end = cr !== -1 && (lf === -1 || cr < lf) ? cr : lf;
      this.line(buf.slice(begin, end));
      begin = end + 1;
      if (end === cr) {
        if (begin === buf.length) this.skipLeadingLF = true; // a CRLF may be cut between chunks
        else if (buf.charCodeAt(begin) === 10) begin++;
      }
      if (lf !== -1 && lf < begin) lf = buf.indexOf('\n', begin);
      if (cr !== -1 && cr < begin) cr = buf.indexOf('\r', begin);
    }
    this.partial = buf.slice(begin);
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
        this.data = this.data === undefined ? value : `${this.data}\n${value}`;
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

  private dispatch(): void {
    this.lastEventId = this.idBuffer;
    const data = this.data;
    const event = this.eventType || 'message';
    this.data = undefined;
    this.eventType = '';
    if (data === undefined) return;
    this.onEvent({ event, data, id: this.lastEventId });
  }
}
