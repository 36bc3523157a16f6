/**
 * Structured JSON logs (pino) to stderr: stdout belongs to the stdio front's protocol stream.
 * Every line passes through the secret redaction (protocol/redaction.ts) on its way out, so a
 * resolved secret value is written as `[secret]` wherever it appears in the line. Under the test
 * run's output tap (output-tap.ts) each line, as written, is also copied there.
 *
 * The file descriptor is written asynchronously, not with pino's `sync: true`: stderr that is a
 * pipe or socket (Docker's log driver, a supervisor, a log shipper) is non-blocking in a Node
 * process, and a synchronous write to it when its reader lags gets EAGAIN, on which sonic-boom
 * sleeps 100 ms with the event loop held, every call in flight included (bench:overhead's
 * observability scenario found it). Written asynchronously, lines wait in a buffer of at most
 * LOG_BUFFER_BYTES (beyond it, lines are dropped rather than the gateway stopped), and pino
 * flushes that buffer synchronously when the process exits.
 */
import pino, { type DestinationStream, type Logger } from 'pino';
import { outputTap } from './output-tap';
import { redactSecrets } from './protocol/redaction';

/** What may wait for a lagging reader of the log's file descriptor before lines are dropped. */
const LOG_BUFFER_BYTES = 16 * 1024 * 1024;

export function createLogger(level: string, destination: NodeJS.WritableStream | number = 2, service = 'mcp-gateway'): Logger {
  const stream = typeof destination === 'number' ? pino.destination({ fd: destination, sync: false, maxLength: LOG_BUFFER_BYTES }) : destination;
  const tap = outputTap('log');
  // both at the lowest level: the logger's own level (which the CLI changes after loading the config) decides
  const out: DestinationStream = tap
    ? pino.multistream([
        { level: 'trace', stream },
        { level: 'trace', stream: { write: tap } },
      ])
    : stream;
  return pino({ level, base: { service }, timestamp: pino.stdTimeFunctions.isoTime, hooks: { streamWrite: redactSecrets } }, out);
}
