/** Small HTTP helpers the fronts share: bounded body reading, JSON-RPC body checks, error replies. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { FleetError } from '../protocol/errors';
import { envelopeProblem } from '../protocol/jsonrpc';

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

/** Parses a POST body into one JSON-RPC message or a batch, with -32700/-32600 errors that say what is wrong. */
export function parseJsonRpcBody(text: string): unknown {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new FleetError('PARSE_ERROR', `Parse error: body is not valid JSON (${(err as Error).message})`);
  }
  const messages = Array.isArray(value) ? value : [value];
  if (messages.length === 0) throw new FleetError('INVALID_REQUEST', 'Invalid Request: empty batch');
  for (const m of messages) {
    const problem = envelopeProblem(m);
    if (problem) throw new FleetError('INVALID_REQUEST', `Invalid Request: ${problem}`);
  }
  return value;
}

/** Answers an HTTP request with a JSON-RPC error body and the error's HTTP status. */
export function sendError(res: ServerResponse, error: FleetError, headers: Record<string, string> = {}): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  const body = JSON.stringify({ jsonrpc: '2.0', id: null, error: error.toJsonRpcError() });
  res.writeHead(error.httpStatus, { 'content-type': 'application/json', ...headers });
  res.end(body);
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}
