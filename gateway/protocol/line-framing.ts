/**
 * Newline-delimited framing, as stdio speaks it: a byte stream cut into lines, and JSON-RPC lines
 * checked by the one frame parser (frames.ts). The work is linear in the bytes received: each byte
 * is searched once, copied at most once (to join a line that came in several reads) and decoded
 * once. Bytes are kept as received until their newline arrives and each line is decoded whole;
 * 0x0A never occurs inside a UTF-8 multi-byte sequence, so a character split across reads comes out
 * intact. A line longer than the limit is reported once and skipped up to its newline unkept.
 */
import { StringDecoder } from 'node:string_decoder';
import { encodeJson } from './encode';
import { FleetError } from './errors';
import { DEFAULT_MAX_MESSAGE_BYTES, parseMessage, refused, type Refused } from './frames';
import type { JsonLimits } from './json-limits';
import type { JsonRpcMessage, RequestId } from './jsonrpc';

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
  /** The skipped line ended; `tail` is its last bytes (where a response's id often is). */
  cutEnded?(tail: string): void;
}

/** How much of a skipped line's end is kept for `cutEnded`. */
const TAIL_BYTES = 256;

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
  /** The last bytes of the line being skipped. */
  private tail: Buffer = Buffer.alloc(0);

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
      if (end > start) {
        if (this.skipping) this.keepTail(chunk.subarray(start, end));
        else this.keep(chunk.subarray(start, end));
      }
      if (nl === -1) return;
      if (this.skipping) this.endCut();
      else this.emit();
      start = nl + 1;
    }
  }

  /** The stream ended: a last line without newline is delivered too. */
  end(): void {
    if (this.skipping) this.endCut();
    else this.emit();
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
    this.tail = Buffer.alloc(0);
    this.keepTail(part);
    this.sink.oversized(head, this.maxLineBytes);
  }

  /** Keeps the last TAIL_BYTES of the skipped line: constant work per read, whatever its size. */
  private keepTail(part: Buffer): void {
    const last = part.subarray(Math.max(0, part.length - TAIL_BYTES));
    const joined = this.tail.length === 0 ? last : Buffer.concat([this.tail, last]);
    this.tail = joined.subarray(Math.max(0, joined.length - TAIL_BYTES));
  }

  private endCut(): void {
    this.skipping = false;
    const end = this.tail.length > 0 && this.tail[this.tail.length - 1] === CR ? this.tail.length - 1 : this.tail.length;
    // a character the cut split at the start comes out as U+FFFD, which no id pattern matches
    const tail = this.tail.toString('utf8', 0, end);
    this.tail = Buffer.alloc(0);
    this.sink.cutEnded?.(tail);
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
  /**
   * A line that is not a valid JSON-RPC message, over a JSON limit, or too long to keep (reported
   * when it ends); `line` is its start, for logs.
   */
  refused(refusal: Refused, line: string): void;
  /** A list answer came without the items named, which nested too deep (see list-items.ts). */
  pruned?(dropped: string[]): void;
}

export interface LineDecoderOptions extends Pick<LineSplitterOptions, 'maxLineBytes'> {
  /** Depth and string limits each line must pass before it is parsed. */
  json?: JsonLimits;
}

/** Newline-delimited JSON-RPC: each line one message. A bad line is reported, never thrown, so it never ends the stream. */
export class LineDecoder {
  private readonly splitter: LineSplitter;

  constructor(handlers: LineDecoderHandlers, options: LineDecoderOptions = {}) {
    let head = '';
    this.splitter = new LineSplitter(
      {
        line: (text) => {
          const parsed = parseMessage(text, 'line', options.json);
          if (parsed.ok && parsed.dropped) handlers.pruned?.(parsed.dropped);
          if (parsed.ok) handlers.message(parsed.message);
          else handlers.refused(parsed, text.slice(0, PREVIEW_BYTES));
        },
        oversized: (start) => (head = start),
        cutEnded: (tail) => {
          const error = new FleetError(
            'BODY_TOO_LARGE',
            `the line is longer than the limit of ${options.maxLineBytes ?? DEFAULT_MAX_MESSAGE_BYTES} bytes; skipped`,
          );
          const { id, response } = idOfCutLine(head, tail);
          handlers.refused({ ...refused(error, id), overLimit: { response } }, head);
        },
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

/** `{"jsonrpc":"2.0","id":7,` at the start of a line (how most peers write a message). */
const HEAD_ID = /^\s*\{\s*(?:"jsonrpc"\s*:\s*"2\.0"\s*,\s*)?"id"\s*:\s*(-?\d{1,15}|"[^"\\]{0,200}")\s*,/;
/** `"id":7}` at the end: a lone closing brace after it, so the id is the top level's (a nested one ends in "}}"). */
const TAIL_ID = /[,{]\s*"id"\s*:\s*(-?\d{1,15}|"[^"\\]{0,200}")\s*\}\s*$/;

/**
 * The id of a line too long to keep, from the start and end that were kept, when the usual ways
 * of writing one show it; it is taken for a response unless its start shows a top-level method.
 */
function idOfCutLine(head: string, tail: string): { id: RequestId | null; response: boolean } {
  const match = HEAD_ID.exec(head) ?? TAIL_ID.exec(tail);
  if (!match) return { id: null, response: false };
  const id: RequestId = match[1].startsWith('"') ? match[1].slice(1, -1) : Number(match[1]);
  // a "method" key before any nested object or array opens is the top level's: a request, not a response
  return { id, response: !/^\s*\{[^{[]*"method"\s*:/.test(head) };
}

/** Throws UNSERIALIZABLE for a message JSON cannot write (see encode.ts). */
export function encodeLine(message: JsonRpcMessage): string {
  return encodeJson(message) + '\n';
}
