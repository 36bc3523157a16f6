/**
 * Structured JSON logs (pino) to stderr: stdout belongs to the stdio front's protocol stream.
 */
import pino, { type Logger } from 'pino';

export function createLogger(level: string, destination: NodeJS.WritableStream | number = 2): Logger {
  const stream = typeof destination === 'number' ? pino.destination({ fd: destination, sync: true }) : destination;
  return pino({ level, base: { service: 'mcp-gateway' }, timestamp: pino.stdTimeFunctions.isoTime }, stream);
}
