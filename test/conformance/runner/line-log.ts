/**
 * Follows a child's output stream line by line for the child's whole life: every line goes to a log
 * file (so the pipe never fills and blocks the child), the last few are kept for error messages, and
 * callers can wait for the first line that means something to them.
 */
import type { ChildProcess } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';

const KEEP_LINES = 20;

type Waiter = { pick: (line: string) => unknown; resolve: (value: unknown) => void };

export class LineLog {
  private readonly recentLines: string[] = [];
  private readonly waiters = new Set<Waiter>();
  private readonly file: WriteStream;

  constructor(stream: Readable, logFile: string) {
    this.file = createWriteStream(logFile);
    const lines = createInterface({ input: stream, crlfDelay: Infinity });
    lines.on('line', (line) => this.onLine(line));
    lines.on('close', () => this.file.end());
  }

  /** The last lines seen, for a failure message. */
  recent(): string {
    return this.recentLines.join('\n');
  }

  /**
   * The first value `pick` returns for a line (undefined means "not this one"). Rejects after
   * `timeoutMs`, or as soon as `child` exits, naming `what` was awaited.
   */
  waitFor<T>(pick: (line: string) => T | undefined, options: { child: ChildProcess; timeoutMs: number; what: string }): Promise<T> {
    const { child, timeoutMs, what } = options;
    return new Promise<T>((resolve, reject) => {
      const waiter: Waiter = { pick, resolve: (value) => settle(() => resolve(value as T)) };
      const onExit = (code: number | null, signal: NodeJS.Signals | null) => settle(() => reject(new Error(`exited (${code ?? signal}) before ${what}`)));
      const timer = setTimeout(() => settle(() => reject(new Error(`no ${what} within ${timeoutMs} ms`))), timeoutMs);
      const settle = (finish: () => void) => {
        clearTimeout(timer);
        child.off('exit', onExit);
        this.waiters.delete(waiter);
        finish();
      };
      this.waiters.add(waiter);
      child.once('exit', onExit);
      if (child.exitCode !== null || child.signalCode !== null) onExit(child.exitCode, child.signalCode);
    });
  }

  private onLine(line: string): void {
    this.file.write(`${line}\n`);
    this.recentLines.push(line);
    if (this.recentLines.length > KEEP_LINES) this.recentLines.shift();
    for (const waiter of [...this.waiters]) {
      const value = waiter.pick(line);
      if (value !== undefined) waiter.resolve(value);
    }
  }
}

/** Parses a line as a JSON object, or undefined for anything else (banners, partial writes). */
export function parseJsonLine(line: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(line);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
