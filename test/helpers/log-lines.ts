/** The gateway's JSON log lines captured in memory, for tests that read them back. */
import { StringDecoder } from 'node:string_decoder';
import { Writable } from 'node:stream';
import type { Logger } from 'pino';
import { createLogger } from '../../gateway/log';

export type LogLine = Record<string, any>;

/** Where a wait for a log line starts and how long it may take. */
export interface LogWait {
  /** The index in `lines` to look from: lines before it (logged before the action the test waits on) do not count. */
  from?: number;
  timeoutMs?: number;
  /** Gives up the wait (rejecting with the signal's reason) and its timer: the process that logs ended, say. */
  signal?: AbortSignal;
}

/**
 * A gateway's log lines in the order they arrived, and a wait for the one a test expects.
 *
 * The gateway writes its log asynchronously (gateway/log.ts), so a line a call logs may reach the
 * reader after the call's answer: a test reads a line with `waitFor`, which resolves as the line
 * arrives. To assert that something is NOT logged, wait first for a line logged after it (the
 * call line of the same request, say), then look at what came before.
 */
export class LogCapture {
  readonly lines: LogLine[] = [];
  private readonly waiters = new Set<{ match: (line: LogLine) => boolean; arrived: (line: LogLine) => void }>();
  /** The unfinished last line of what `feed` got, and the bytes of a character cut in two. */
  private partial = '';
  private readonly decoder = new StringDecoder('utf8');

  add(line: LogLine): void {
    this.lines.push(line);
    for (const waiter of this.waiters) if (waiter.match(line)) waiter.arrived(line);
  }

  /** Takes a chunk of a stream of JSON lines (a gateway's stderr); what is not JSON goes to `other`. */
  feed(chunk: Buffer, other: (text: string) => void = () => {}): void {
    const parts = (this.partial + this.decoder.write(chunk)).split('\n');
    this.partial = parts.pop()!;
    for (const text of parts) {
      if (text.startsWith('{')) this.add(JSON.parse(text) as LogLine);
      else if (text) other(text);
    }
  }

  /** The first line from `from` on that `match`es, once it arrived; fails after `timeoutMs` naming `what` and the last lines. */
  waitFor(match: (line: LogLine) => boolean, what: string, { from = 0, timeoutMs = 10_000, signal }: LogWait = {}): Promise<LogLine> {
    const found = this.lines.slice(from).find(match);
    if (found) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const end = () => {
        this.waiters.delete(waiter);
        clearTimeout(timer);
        signal?.removeEventListener('abort', aborted);
      };
      const waiter = { match, arrived: (line: LogLine) => (end(), resolve(line)) };
      const aborted = () => (end(), reject(signal!.reason));
      const timer = setTimeout(() => {
        end();
        reject(new Error(`no log line of ${what} within ${timeoutMs} ms; the last lines: ${JSON.stringify(this.lines.slice(-5))}`));
      }, timeoutMs);
      this.waiters.add(waiter);
      signal?.addEventListener('abort', aborted);
    });
  }
}

/** A stream that hands on each complete line written to it (pino writes one JSON document per line). */
export function lineSink(onLine: (line: string) => void): Writable {
  return new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString().split('\n')) if (line) onLine(line);
      done();
    },
  });
}

/** A gateway logger at `level` whose lines end up in `capture`. */
export function capturingLogger(level: string, capture = new LogCapture()): { log: Logger; lines: string[]; capture: LogCapture } {
  const lines: string[] = [];
  return {
    log: createLogger(
      level,
      lineSink((l) => {
        lines.push(l);
        capture.add(JSON.parse(l) as LogLine);
      }),
    ),
    lines,
    capture,
  };
}
