/** Small HTTP helpers the fronts share: bounded body reading, JSON-RPC body checks, error replies. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { FleetError } from '../protocol/errors';
import { parseMessage, parseMessageOrBatch, RefusedMessage } from '../protocol/frames';
import type { JsonLimits } from '../protocol/json-limits';
import type { JsonRpcMessage } from '../protocol/jsonrpc';

/** Reads the whole body, refusing (413) once it passes `limit` bytes, declared or streamed. */
export async function readBody(req: IncomingMessage, limit: number): Promise<string> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) throw tooLarge(limit);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw tooLarge(limit);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function tooLarge(limit: number): FleetError {
  return new FleetError('BODY_TOO_LARGE', `request body is larger than the gateway's limit of ${limit} bytes (http.maxBodyBytes)`);
}

/**
 * Reads a POST body as JSON-RPC: one message, or a batch where `batches` allows one (every item
 * valid). Throws the parser's -32700/-32600 FleetError otherwise, which the caller answers with.
 */
export async function readJsonRpcBody(
  req: IncomingMessage,
  limit: number,
  batches: boolean,
  json: JsonLimits,
): Promise<{ messages: JsonRpcMessage[]; batch: boolean }> {
  const text = await readBody(req, limit);
  const parsed = batches ? parseMessageOrBatch(text, 'body', json) : parseMessage(text, 'body', json);
  // A refusal carries the id it could read, so the client's request gets its answer rather than a timeout.
  if (!parsed.ok && parsed.id !== null) throw new RefusedMessage(parsed.error, parsed.id);
  if (!parsed.ok) throw parsed.error;
  if ('message' in parsed) return { messages: [parsed.message], batch: false };
  const messages: JsonRpcMessage[] = [];
  for (const item of parsed.batch) {
    if (!item.ok) throw item.error;
    messages.push(item.message);
  }
  return { messages, batch: true };
}

/** Answers an HTTP request with a JSON-RPC error body (to the error's request id, else null) and the error's HTTP status. */
export function sendError(res: ServerResponse, error: FleetError, headers: Record<string, string> = {}): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  const body = JSON.stringify({ jsonrpc: '2.0', id: error instanceof RefusedMessage ? error.requestId : null, error: error.toJsonRpcError() });
  res.writeHead(error.httpStatus, { 'content-type': 'application/json', ...headers });
  res.end(body);
}

/** Retry-After (whole seconds, rounded up) for a RATE_LIMITED refusal that says how long to wait (`data.retryAfterMs`); else nothing. */
export function retryAfterHeader(error: FleetError): Record<string, string> {
  const ms = error.data?.retryAfterMs;
  if (error.code !== 'RATE_LIMITED' || typeof ms !== 'number') return {};
  return { 'retry-after': String(Math.max(1, Math.ceil(ms / 1000))) };
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

/** Enough of a session id to tell sessions apart in a log line, too little to use it. */
export function shortId(id: string): string {
  return id.length > 8 ? `${id.slice(0, 8)}…` : id;
}
