/**
 * Structured JSON logs (pino) to stderr: stdout belongs to the stdio front's protocol stream.
 * Every line passes through the secret redaction (protocol/redaction.ts) on its way out, so a
 * resolved secret value is written as `[secret]` wherever it appears in the line. Under the test
 * run's output tap (output-tap.ts) each line, as written, is also copied there.
 *
 * A file descriptor is written without ever holding the event loop for its reader (log-writer.ts):
 * stderr that is a pipe or socket (Docker's log driver, a supervisor, a log shipper) whose reader
 * lags made pino's synchronous writes get EAGAIN and sonic-boom sleep 100 ms with the event loop
 * held, every call in flight included (bench:overhead's observability scenario found it). Lines
 * the reader has no room for wait, in order, in at most LOG_BUFFER_BYTES; a line past that is
 * dropped (the gateway serves on), counted (mcp_gateway_log_lines_dropped_total, see
 * logLinesDropped) and told in one warning line once the reader caught up. What waits is written
 * out when the process exits, after a fatal error too. So a line can reach the reader after the
 * answer of the call that logged it: a test waits for the line (test/helpers/log-lines.ts).
 */
import pino, { type DestinationStream, type Logger } from 'pino';
import { FdLineWriter } from './log-writer';
import { outputTap } from './output-tap';
import { redactSecrets } from './protocol/redaction';

/** What may wait for a lagging reader of the log's file descriptor before lines are dropped. */
export const LOG_BUFFER_BYTES = 16 * 1024 * 1024;

/** Lines this process dropped because its log's reader lagged LOG_BUFFER_BYTES behind. */
let dropped = 0;

export function logLinesDropped(): number {
  return dropped;
}

/** One writer per descriptor, whichever loggers share it: two queues on one fd could cut each other's lines. */
const writers = new Map<number, FdLineWriter>();

export function createLogger(level: string, destination: NodeJS.WritableStream | number = 2, service = 'mcp-gateway'): Logger {
  const stream = typeof destination === 'number' ? fdWriter(destination) : destination;
  const tap = outputTap('log');
  // both at the lowest level: the logger's own level (which the CLI changes after loading the config) decides
  const out: DestinationStream = tap
    ? pino.multistream([
        { level: 'trace', stream },
        { level: 'trace', stream: { write: tap } },
      ])
    : stream;
  const log = pino({ level, base: { service }, timestamp: isoTime, hooks: { streamWrite: redactSecrets } }, out);
  if (stream instanceof FdLineWriter && !tellers.has(stream)) tellers.set(stream, log);
  return log;
}

/**
 * pino's isoTime, `,"time":"2026-12-07T07:00:01.123Z"`, with the part up to the second made once a
 * second: a Date and toISOString() for every line was a tenth of what a call line costs.
 */
let second = NaN;
let upToSecond = '';

export function isoTime(now = Date.now()): string {
  const ms = now % 1000;
  if (now - ms !== second) {
    second = now - ms;
    upToSecond = `,"time":"${new Date(second).toISOString().slice(0, 20)}`;
  }
  return `${upToSecond}${ms < 10 ? '00' : ms < 100 ? '0' : ''}${ms}Z"`;
}

/** The logger that tells a descriptor's drops: the first one made on it. */
const tellers = new WeakMap<FdLineWriter, Logger>();

function fdWriter(fd: number): FdLineWriter {
  const known = writers.get(fd);
  if (known) return known;
  // Node makes stderr non-blocking once process.stderr exists (a pipe or socket gets EAGAIN when
  // full instead of blocking): make it exist before the first write
  if (fd === 2) void process.stderr;
  const writer: FdLineWriter = new FdLineWriter(
    fd,
    LOG_BUFFER_BYTES,
    () => void dropped++,
    (lines) =>
      tellers.get(writer)?.warn({ dropped: lines, bufferBytes: LOG_BUFFER_BYTES }, "log lines dropped: stderr's reader lagged more than the log buffer behind"),
  );
  writers.set(fd, writer);
  return writer;
}
