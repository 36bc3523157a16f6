/**
 * Structured JSON logs (pino) to stderr: stdout belongs to the stdio front's protocol stream.
 * Every line passes through the secret redaction (protocol/redaction.ts) on its way out, so a
 * resolved secret value is written as `[secret]` wherever it appears in the line. Under the test
 * run's output tap (output-tap.ts) each line, as written, is also copied there.
 */
import pino, { type DestinationStream, type Logger } from 'pino';
import { outputTap } from './output-tap';
import { redactSecrets } from './protocol/redaction';

export function createLogger(level: string, destination: NodeJS.WritableStream | number = 2, service = 'mcp-gateway'): Logger {
  const stream = typeof destination === 'number' ? pino.destination({ fd: destination, sync: true }) : destination;
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
