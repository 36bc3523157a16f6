/**
 * The stdio front: the gateway itself runs as one stdio MCP server (launched by a desktop client),
 * reading newline-delimited JSON-RPC on stdin and writing on stdout. Logs go to stderr only.
 * A client that does not read its stdout cannot make the gateway hold its output without bound:
 * when a message would take what it has not yet taken past `sendQueueBytes`, the client is dropped (its session
 * closed, its calls cancelled upstream, nothing more written) and `onEnd` says so, for the process
 * to exit with its own code.
 */
import { ANONYMOUS } from '../auth/principal';
import type { SessionOpener } from '../session/sessions';
import { LineDecoder, encodeLine } from '../protocol/line-framing';
import { errorResponse, type JsonRpcMessage } from '../protocol/jsonrpc';
import type { ClientSession } from '../session/client-session';
import type { JsonLimits } from '../protocol/json-limits';

/** Why the stdio client's session ended: its stdin closed, or it stopped reading its stdout. */
export type StdioEnd = 'input closed' | 'send queue full';

export interface StdioLimits {
  /** What each line must pass before it is parsed (the config's limits.maxJsonDepth and maxStringChars). */
  json?: JsonLimits;
  /** Bytes written to `output` and not yet taken by the client beyond which it is dropped (limits.sendQueueBytes); default no bound. */
  sendQueueBytes?: number;
}

export function serveStdio(
  sessions: SessionOpener,
  streams: { input: NodeJS.ReadableStream; output: NodeJS.WritableStream & { writableLength?: number }; onEnd: (why: StdioEnd) => void },
  limits: StdioLimits = {},
): ClientSession {
  const { input, output, onEnd } = streams;
  const bound = limits.sendQueueBytes ?? Infinity;
  let dropped = false;
  const write = (message: JsonRpcMessage) => {
    if (dropped) return Promise.resolve();
    const line = encodeLine(message);
    const queued = output.writableLength ?? 0;
    // with nothing waiting, one message goes whatever its size (a reading client takes a large answer);
    // behind that, the queue never holds more than the bound
    if (queued > 0 && queued + Buffer.byteLength(line) > bound) {
      drop(queued);
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => output.write(line, (err) => (err ? reject(err) : resolve())));
  };
  const session = sessions.openSession({ kind: 'stdio', principal: ANONYMOUS, send: write, close: async () => {} });
  const drop = (queuedBytes: number) => {
    dropped = true;
    session.log.error({ queuedBytes, sendQueueBytes: bound }, 'client does not read its stdout: dropped (limits.sendQueueBytes)');
    input.removeAllListeners('data');
    void session.close();
    onEnd('send queue full');
  };
  const decoder = new LineDecoder(
    {
      message: (m) => session.receive(m),
      refused: ({ error, id }, line) => {
        void write(errorResponse(id, error.toJsonRpcError())).catch(() => {}); // stdout gone: the session ends with it
        session.log.info({ line, problem: error.message, code: error.code }, 'bad message from stdio client');
      },
    },
    { json: limits.json },
  );
  input.on('data', (chunk: Buffer) => decoder.push(chunk));
  input.on('end', () => {
    if (!dropped) onEnd('input closed');
  });
  return session;
}
