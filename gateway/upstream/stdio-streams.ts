/**
 * How a stdio server's output streams reach the gateway, for child processes and containers
 * alike: stdout decoded into JSON-RPC messages (other lines logged and skipped), stderr logged
 * line by line tagged as such.
 */
import type { Logger } from 'pino';
import { LineDecoder } from '../protocol/line-decoder';
import type { JsonRpcMessage } from '../protocol/jsonrpc';

export function readStdout(stream: NodeJS.ReadableStream, log: Logger, onMessage: (m: JsonRpcMessage) => void): void {
  const decoder = new LineDecoder({
    message: onMessage,
    garbage: (line, problem) => log.warn({ line: line.slice(0, 200), problem }, 'server wrote a line to stdout that is not a JSON-RPC message; ignored'),
  });
  stream.on('data', (chunk: Buffer) => decoder.push(chunk));
}

/** Calls `onLine` for each non-blank line of `stream`, including a last one without newline. */
export function readLines(stream: NodeJS.ReadableStream, onLine: (line: string) => void): void {
  let rest = '';
  stream.on('data', (chunk: Buffer) => {
    rest += chunk.toString('utf8');
    const lines = rest.split('\n');
    rest = lines.pop() ?? '';
    for (const line of lines) if (line.trim()) onLine(line);
  });
  stream.on('end', () => {
    if (rest.trim()) onLine(rest);
  });
}
