/**
 * Log lines to a file descriptor without ever holding the event loop for its reader, and without
 * ever losing what waits when the process exits.
 *
 * Why not pino's own destination: with `sync: true` a write to a non-blocking pipe whose reader
 * lags gets EAGAIN and sonic-boom sleeps 100 ms with the event loop held (the gateway answers
 * nothing); with `sync: false` it writes from libuv's thread pool, and its flush at exit skips the
 * chunk of a write still in flight or waiting to be retried, so lines that waited are lost
 * (test/gateway/log-backpressure.test.ts saw it).
 *
 * Here the lines of one turn of the event loop are written together, once that turn's I/O is done
 * (setImmediate), with one synchronous write to the descriptor, which Node made non-blocking (a
 * pipe or socket: EAGAIN when full; a file never blocks long): under load many calls end in one
 * turn, and a write per line was the largest part of what the call log costs (a CPU profile of
 * bench:overhead's fast-http-observability). So a line reaches the reader after what the process
 * sent within the same turn (the answer of the call it describes, say), and a process killed
 * outright (SIGKILL) loses at most its last turn's lines. What the reader has no room for waits
 * in memory, in order, up to `maxBytes`, and is tried again shortly after; a line that does not
 * fit is dropped and counted, and `caughtUp` is told how many once everything that waited is
 * written. At exit what waits is written synchronously, the reader given EXIT_FLUSH_MS.
 */
import { writeSync } from 'node:fs';

/** How long an exiting process waits for a reader that takes nothing, before what is left is dropped. */
const EXIT_FLUSH_MS = 10_000;
/** Retry delays while the reader lags: short first (a reader that merely paused), then at most this. */
const FIRST_RETRY_MS = 1;
const MAX_RETRY_MS = 50;
/** At most this much goes to one write() when what waits is written out. */
const WRITE_CHUNK_BYTES = 64 * 1024;

/** Every writer's, for the one exit flush. */
const writers = new Set<FdLineWriter>();
let exitHooked = false;

export class FdLineWriter {
  /**
   * Lines (or the unwritten end of one) waiting for the reader, oldest first from `head` on. Taken
   * by moving `head`, not with shift(): an array this long lives in V8's large-object space, where
   * each shift() moves all the rest.
   */
  private waiting: (string | Buffer)[] = [];
  private head = 0;
  /** This turn's lines, while nothing waits: written together when the turn ends. */
  private turn = '';
  private turnEnd: NodeJS.Immediate | undefined;
  private waitingBytes = 0;
  private retry: NodeJS.Timeout | undefined;
  private retryMs = FIRST_RETRY_MS;
  /** Dropped since `caughtUp` was last told. */
  private untold = 0;

  constructor(
    private readonly fd: number,
    private readonly maxBytes: number,
    /** Every dropped line, as it is dropped (a process-wide counter). */
    private readonly onDrop: () => void,
    /** Everything that waited is written, and `dropped` lines were dropped meanwhile. */
    private readonly caughtUp: (dropped: number) => void,
  ) {
    writers.add(this);
    if (!exitHooked) {
      exitHooked = true;
      process.on('exit', () => {
        for (const writer of writers) writer.flushSync();
      });
    }
  }

  /** pino's stream interface: one or more whole lines. */
  write(line: string): boolean {
    if (this.isEmpty()) {
      this.turn += line;
      // a turn that logs more than the bound is written at once rather than held
      if (this.turn.length > this.maxBytes) this.endTurn();
      else this.turnEnd ??= setImmediate(() => this.endTurn()).unref();
      return true;
    }
    if (this.waitingBytes + Buffer.byteLength(line) > this.maxBytes) {
      this.untold++;
      this.onDrop();
    } else this.enqueue(line);
    this.scheduleRetry();
    return true;
  }

  /** Writes this turn's lines; what the reader has no room for waits. */
  private endTurn(): void {
    clearImmediate(this.turnEnd);
    this.turnEnd = undefined;
    const lines = this.turn;
    this.turn = '';
    if (!lines) return;
    const rest = this.tryWrite(lines);
    if (rest === undefined || rest === null) return;
    this.enqueue(rest);
    this.scheduleRetry();
  }

  /** Writes what waits, giving the reader EXIT_FLUSH_MS; what it still has no room for then is dropped. */
  flushSync(): void {
    this.endTurn();
    clearTimeout(this.retry);
    this.retry = undefined;
    const deadline = Date.now() + EXIT_FLUSH_MS;
    const nap = new Int32Array(new SharedArrayBuffer(4));
    while (this.writeSome() && !this.isEmpty() && Date.now() < deadline) Atomics.wait(nap, 0, 0, 5);
  }

  private isEmpty(): boolean {
    return this.head === this.waiting.length;
  }

  private enqueue(data: string | Buffer): void {
    this.waiting.push(data);
    this.waitingBytes += Buffer.byteLength(data);
  }

  private scheduleRetry(): void {
    if (this.retry || this.isEmpty()) return;
    this.retry = setTimeout(() => {
      this.retry = undefined;
      this.writeSome();
      if (!this.isEmpty()) {
        this.retryMs = Math.min(this.retryMs * 2, MAX_RETRY_MS);
        return this.scheduleRetry();
      }
      this.retryMs = FIRST_RETRY_MS;
      if (this.untold > 0) {
        const dropped = this.untold;
        this.untold = 0;
        this.caughtUp(dropped);
      }
    }, this.retryMs);
    // a lagging log reader keeps no process alive: at exit what waits is flushed
    this.retry.unref();
  }

  /** Writes from the head of what waits until the reader has no room; false when the descriptor failed for good. */
  private writeSome(): boolean {
    try {
      while (!this.isEmpty()) {
        const rest = this.tryWrite(this.takeChunk());
        if (rest === null) return false;
        if (rest !== undefined) {
          this.waiting[--this.head] = rest; // where the chunk's last part was taken from
          this.waitingBytes += Buffer.byteLength(rest);
          return true;
        }
      }
      return true;
    } finally {
      // what was written is let go of: all of it, or once it is most of the array
      if (this.isEmpty()) [this.waiting, this.head] = [[], 0];
      else if (this.head > 4096 && this.head * 2 > this.waiting.length) [this.waiting, this.head] = [this.waiting.slice(this.head), 0];
    }
  }

  /** Takes up to WRITE_CHUNK_BYTES from the head of what waits, as one buffer. */
  private takeChunk(): Buffer {
    const parts: Buffer[] = [];
    let bytes = 0;
    while (!this.isEmpty() && (bytes === 0 || bytes + Buffer.byteLength(this.waiting[this.head]) <= WRITE_CHUNK_BYTES)) {
      const next = this.waiting[this.head++];
      const buf = typeof next === 'string' ? Buffer.from(next) : next;
      parts.push(buf);
      bytes += buf.length;
    }
    this.waitingBytes -= bytes;
    return parts.length === 1 ? parts[0] : Buffer.concat(parts, bytes);
  }

  /**
   * One write: undefined when all of `data` was written, what is left when the reader had no room
   * for it, null when the descriptor cannot be written at all (its reader is gone: what waits is
   * dropped, as a log nobody can read).
   */
  private tryWrite(data: string | Buffer): Buffer | string | undefined | null {
    try {
      const written = typeof data === 'string' ? writeSync(this.fd, data) : writeSync(this.fd, data);
      if (written >= (typeof data === 'string' ? Buffer.byteLength(data) : data.length)) return undefined;
      return (typeof data === 'string' ? Buffer.from(data) : data).subarray(written);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EAGAIN') return data;
      [this.waiting, this.head, this.waitingBytes] = [[], 0, 0];
      return null;
    }
  }
}
