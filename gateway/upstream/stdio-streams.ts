/**
 * How a stdio server's output streams reach the gateway, for child processes and containers
 * alike: stdout decoded into JSON-RPC messages (other lines logged and skipped), stderr logged
 * line by line tagged as such. Both go through the one line splitter, so both are linear in what
 * the server writes, decode characters split across reads intact, and hold a bounded amount.
 */
import type { Logger } from 'pino';
import { answerForRefused, prunedItems } from '../protocol/frames';
import { LineDecoder, LineSplitter } from '../protocol/line-framing';
import type { JsonRpcMessage } from '../protocol/jsonrpc';
import { jsonLimitsOf, type MessageLimits } from '../protocol/json-limits';

/** A stderr line is a log line: past this it is cut, since a log is no place for megabytes. */
export const MAX_STDERR_LINE_BYTES = 8 * 1024;

/**
 * Delivers each JSON-RPC line of `stream`. A line over `limits` is refused: when it was a response,
 * its request gets an error response naming `server` instead; anything else is logged and dropped.
 * `onBytes` hears of every chunk, so that a server in the middle of a long line is seen to be busy.
 */
export function readStdout(
  stream: NodeJS.ReadableStream,
  log: Logger,
  onMessage: (m: JsonRpcMessage) => void,
  server: string,
  limits?: MessageLimits,
  onBytes?: () => void,
): void {
  const decoder = new LineDecoder(
    {
      message: onMessage,
      refused: (refusal, line) => {
        log.warn({ line, problem: refusal.error.message, code: refusal.error.code }, 'server wrote a line to stdout that is not a JSON-RPC message; ignored');
        const answer = answerForRefused(refusal, `server "${server}"`);
        if (answer) onMessage(answer);
      },
      pruned: (dropped) => log.warn({ dropped }, prunedItems(`server "${server}"`, dropped).message),
    },
    limits && { maxLineBytes: limits.maxMessageBytes, json: jsonLimitsOf(limits) },
  );
  stream.on('data', (chunk: Buffer) => {
    onBytes?.();
    decoder.push(chunk);
  });
}

/**
 * Calls `onLine` for each non-blank line of `stream`, including a last one without newline. A line
 * longer than MAX_STDERR_LINE_BYTES comes out cut at that length, marked as such, at once.
 */
export function readLines(stream: NodeJS.ReadableStream, onLine: (line: string) => void): void {
  const splitter = new LineSplitter(
    {
      line: onLine,
      oversized: (head, max) => onLine(`${head}… [line cut: longer than ${max} bytes]`),
    },
    { maxLineBytes: MAX_STDERR_LINE_BYTES, headBytes: MAX_STDERR_LINE_BYTES },
  );
  stream.on('data', (chunk: Buffer) => splitter.push(chunk));
  stream.on('end', () => splitter.end());
}
