/** The gateway's JSON log lines captured in memory, for tests that read them back. */
import { Writable } from 'node:stream';
import type { Logger } from 'pino';
import { createLogger } from '../../gateway/log';

/** A stream that hands on each complete line written to it (pino writes one JSON document per line). */
export function lineSink(onLine: (line: string) => void): Writable {
  return new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString().split('\n')) if (line) onLine(line);
      done();
    },
  });
}

/** A gateway logger at `level` whose lines end up in `lines`. */
export function capturingLogger(level: string): { log: Logger; lines: string[] } {
  const lines: string[] = [];
  return {
    log: createLogger(
      level,
      lineSink((l) => lines.push(l)),
    ),
    lines,
  };
}
