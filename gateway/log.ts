/**
 * Structured JSON logs (pino) to stderr: stdout belongs to the stdio front's protocol stream.
 * Every line passes through the secret redaction (protocol/redaction.ts) on its way out, so a
 * resolved secret value is written as `[secret]` wherever it appears in the line.
 */
import pino, { type Logger } from 'pino';
import { redactSecrets } from './protocol/redaction';

export function createLogger(level: string, destination: NodeJS.WritableStream | number = 2): Logger {
  const stream = typeof destination === 'number' ? pino.destination({ fd: destination, sync: true }) : destination;
  return pino({ level, base: { service: 'mcp-gateway' }, timestamp: pino.stdTimeFunctions.isoTime, hooks: { streamWrite: redactSecrets } }, stream);
}
