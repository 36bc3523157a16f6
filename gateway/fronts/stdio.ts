/**
 * The stdio front: the gateway itself runs as one stdio MCP server (launched by a desktop client),
 * reading newline-delimited JSON-RPC on stdin and writing on stdout. Logs go to stderr only.
 */
import { ANONYMOUS } from '../auth/principal';
import type { SessionOpener } from '../session/sessions';
import { LineDecoder, encodeLine } from '../protocol/line-framing';
import { errorResponse, type JsonRpcMessage } from '../protocol/jsonrpc';
import type { ClientSession } from '../session/client-session';
import type { JsonLimits } from '../protocol/json-limits';

/** `json`: what each line must pass before it is parsed (the config's limits.maxJsonDepth and maxStringChars). */
export function serveStdio(
  sessions: SessionOpener,
  input: NodeJS.ReadableStream,
  output: NodeJS.WritableStream,
  onEnd: () => void,
  json?: JsonLimits,
): ClientSession {
  const write = (message: JsonRpcMessage) =>
    new Promise<void>((resolve, reject) => output.write(encodeLine(message), (err) => (err ? reject(err) : resolve())));
  const session = sessions.openSession({ kind: 'stdio', principal: ANONYMOUS, send: write, close: async () => {} });
  const decoder = new LineDecoder(
    {
      message: (m) => session.receive(m),
      refused: ({ error, id }, line) => {
        void write(errorResponse(id, error.toJsonRpcError())).catch(() => {}); // stdout gone: the session ends with it
        session.log.info({ line, problem: error.message, code: error.code }, 'bad message from stdio client');
      },
    },
    { json },
  );
  input.on('data', (chunk: Buffer) => decoder.push(chunk));
  input.on('end', onEnd);
  return session;
}
