/**
 * Newline-delimited framing, as stdio speaks it: a byte stream cut into lines, and JSON-RPC lines
 * checked by the one frame parser (frames.ts). The work is linear in the bytes received: each byte
 * is searched once, copied at most once (to join a line that came in several reads) and decoded
 * once. Bytes are kept as received until their newline arrives and each line is decoded whole;
 * 0x0A never occurs inside a UTF-8 multi-byte sequence, so a character split across reads comes out
 * intact. A line longer than the limit is reported once and skipped up to its newline unkept.
 */
import { StringDecoder } from 'node:string_decoder';
import { FleetError } from './errors';
import { DEFAULT_MAX_MESSAGE_BYTES, parseMessage, refused, type Refused } from './frames';
import type { JsonRpcMessage } from './jsonrpc';

/** How much of a refused line goes into reports and logs. */
const PREVIEW_BYTES = 200;

const NEWLINE = 0x0a;
const CR = 0x0d;

export interface LineSplitterOptions {
  /** A longer line is not kept: `oversized` gets its start instead (default DEFAULT_MAX_MESSAGE_BYTES, 128 MiB). */
  maxLineBytes?: number;
  /** How many bytes of an oversized line `oversized` gets (default 200). */
  headBytes?: number;
}

export interface LineSink {
  /** A complete non-blank line, without its "\n" or "\r\n". */
  line(text: string): void;
  /** A line passed `maxLineBytes`: `head` is its start; the rest is skipped up to its newline. Called once per line. */
  oversized(head: string, maxLineBytes: number): void;
}

/** What a splitter has done, in bytes: a test seam that shows the work stays proportional to the input. */
export interface SplitterWork {
  scanned: number;
  copied: number;
  decoded: number;
}

export class LineSplitter {
  readonly work: SplitterWork = { scanned: 0, copied: 0, decoded: 0 };
  private readonly maxLineBytes: number;
  private readonly headBytes: number;
  /** The current line's bytes, as the reads delivered them. */
  private held: Buffer[] = [];
  private heldBytes = 0;
  /** The current line passed the limit: drop its bytes until its newline. */
  private skipping = false;

  constructor(
    private readonly sink: LineSink,
    options: LineSplitterOptions = {},
  ) {
    this.maxLineBytes = options.maxLineBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
    this.headBytes = Math.min(options.headBytes ?? PREVIEW_BYTES, this.maxLineBytes);
  }

  push(chunk: Buffer): void {
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(NEWLINE, start);
      const end = nl === -1 ? chunk.length : nl;
      this.work.scanned += (nl === -1 ? end : end + 1) - start;
      if (!this.skipping && end > start) this.keep(chunk.subarray(start, end));
      if (nl === -1) return;
      if (this.skipping) this.skipping = false;
      else this.emit();
      start = nl + 1;
    }
  }

  /** The stream ended: a last line without newline is delivered too. */
  end(): void {
    if (!this.skipping) this.emit();
    this.skipping = false;
  }

  private keep(part: Buffer): void {
    if (this.heldBytes + part.length <= this.maxLineBytes) {
      this.held.push(part);
      this.heldBytes += part.length;
      return;
    }
    const head = this.head([...this.held, part]);
    this.held = [];
    this.heldBytes = 0;
    this.skipping = true;
    this.sink.oversized(head, this.maxLineBytes);
  }

  private emit(): void {
    if (this.heldBytes === 0) return;
    const bytes = this.held.length === 1 ? this.held[0] : Buffer.concat(this.held, this.heldBytes);
    if (this.held.length > 1) this.work.copied += this.heldBytes;
    this.held = [];
    this.heldBytes = 0;
    const length = bytes[bytes.length - 1] === CR ? bytes.length - 1 : bytes.length;
    this.work.decoded += length;
    const text = bytes.toString('utf8', 0, length);
    if (/\S/.test(text)) this.sink.line(text);
  }

  /** The first headBytes of `parts` as text, without a character the cut split. */
  private head(parts: Buffer[]): string {
    const decoder = new StringDecoder('utf8');
    let text = '';
    let left = this.headBytes;
    for (const p of parts) {
      if (left === 0) break;
      text += decoder.write(p.subarray(0, left));
      left -= Math.min(left, p.length);
    }
    return text;
  }
}

export interface LineDecoderHandlers {
  message(m: JsonRpcMessage): void;
  /** A line that is not a valid JSON-RPC message, or too long to keep; `line` is its start, for logs. */
  refused(refusal: Refused, line: string): void;
}

/** Newline-delimited JSON-RPC: each line one message. A bad line is reported, never thrown, so it never ends the stream. */
export class LineDecoder {
  private readonly splitter: LineSplitter;

  constructor(handlers: LineDecoderHandlers, options: Pick<LineSplitterOptions, 'maxLineBytes'> = {}) {
    this.splitter = new LineSplitter(
      {
        line: (text) => {
          const parsed = parseMessage(text, 'line');
          if (parsed.ok) handlers.message(parsed.message);
          else handlers.refused(parsed, text.slice(0, PREVIEW_BYTES));
        },
        oversized: (head, max) =>
          handlers.refused(refused(new FleetError('BODY_TOO_LARGE', `the line is longer than the limit of ${max} bytes; skipped up to its end`)), head),
      },
      options,
    );
  }

  get work(): Readonly<SplitterWork> {
    return this.splitter.work;
  }

  push(chunk: Buffer): void {
    this.splitter.push(chunk);
  }
}

export function encodeLine(message: JsonRpcMessage): string {
  return JSON.stringify(message) + '\n';
}
