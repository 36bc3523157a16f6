/**
 * The one parser from a JSON text to a checked JSON-RPC message, for every transport: HTTP bodies,
 * stdio lines, WebSocket frames, upstream SSE events and JSON answers. Its result says whether the
 * text was not JSON (PARSE_ERROR, -32700) or not a valid JSON-RPC message (INVALID_REQUEST, -32600)
 * and what exactly is wrong, so callers branch on the error's code, never on its message.
 */
import { FleetError } from './errors';
import { scanJson, type JsonLimits } from './json-limits';
import { pruneDeepItems } from './list-items';
import { errorResponse, type JsonRpcErrorResponse, type JsonRpcMessage, type RequestId } from './jsonrpc';

/**
 * The largest message the gateway takes from a peer where no setting says otherwise: 128 MiB. MCP
 * sets no size on a message, and real answers reach tens of MiB (a file read, a base64 image or
 * resource), so the bound must sit far above what honest peers send. It stays far below V8's
 * longest string (~512 MiB), which a message must fit in once decoded, and bounds what a hostile
 * peer can make the gateway hold to a few times this per connection.
 */
export const DEFAULT_MAX_MESSAGE_BYTES = 128 * 1024 * 1024;

/** A text the parser refused: the error to answer with, and the id to answer to when one could be read. */
export interface Refused {
  ok: false;
  error: FleetError;
  id: RequestId | null;
  /** The text passed a JSON limit; `response` says its top level is a response (it has an id and no method). */
  overLimit?: { response: boolean; depth?: boolean };
}

/** `dropped`: items of a list answer left out for nesting too deep (list-items.ts), by name. */
export type ParsedMessage = { ok: true; message: JsonRpcMessage; dropped?: string[] } | Refused;

/** One message, or a batch whose items are checked one by one (JSON-RPC 2.0 answers each on its own). */
export type ParsedFrame = ParsedMessage | { ok: true; batch: ParsedMessage[] };

/** What the text is called in error messages ("the line is not valid JSON"). */
export type FrameKind = 'body' | 'line' | 'frame' | 'event';

/**
 * Parses a text that must hold exactly one JSON-RPC message; a batch is refused. With `limits`, a
 * text nested too deep or with too long a string is refused (-32600) before it is parsed.
 */
export function parseMessage(text: string, what: FrameKind, limits?: JsonLimits): ParsedMessage {
  const json = parseJson(text, what, limits);
  if (!json.ok) return salvageList(json, text, limits);
  if (Array.isArray(json.value)) return invalid(`the ${what} must carry one JSON-RPC message, not a batch`, null);
  return checkMessage(json.value, '');
}

/** Parses a text that holds one JSON-RPC message or a non-empty batch of them, for the transports that take batches. */
export function parseMessageOrBatch(text: string, what: FrameKind, limits?: JsonLimits): ParsedFrame {
  const json = parseJson(text, what, limits);
  if (!json.ok) return salvageList(json, text, limits);
  if (!Array.isArray(json.value)) return checkMessage(json.value, '');
  if (json.value.length === 0) return invalid('empty batch', null);
  return { ok: true, batch: json.value.map((item, i) => checkMessage(item, `batch item ${i}: `)) };
}

/** The error that tells (the log) which items of `peer`'s list answer were left out for nesting too deep. */
export function prunedItems(peer: string, dropped: readonly string[]): FleetError {
  return new FleetError('UPSTREAM_BAD_MESSAGE', `${peer} listed items nested deeper than its limit; left out: ${dropped.join(', ')}`);
}

/** A refusal thrown where the answer must still go to the request's id (an HTTP body whose id could be read). */
export class RefusedMessage extends FleetError {
  constructor(
    error: FleetError,
    readonly requestId: RequestId,
  ) {
    super(error.code, error.message, { data: error.data, cause: error.cause });
  }
}

/** A refusal from outside the parser (a line too long to keep, say), shaped like the parser's own. */
export function refused(error: FleetError, id: RequestId | null = null): Refused {
  return { ok: false, error, id };
}

/**
 * What the caller of a request gets when the response to it was refused for passing a limit: an
 * error response under its id that names `peer` (undefined when the text was no response, or its
 * id could not be read). The peer stays connected: only this message was bad.
 */
export function answerForRefused(refusal: Refused, peer: string): JsonRpcErrorResponse | undefined {
  if (!refusal.overLimit?.response || refusal.id === null) return undefined;
  const error = new FleetError('UPSTREAM_BAD_MESSAGE', `${peer} answered with a message the gateway refuses: ${refusal.error.message}`);
  return errorResponse(refusal.id, error.toJsonRpcError());
}

/**
 * A response refused for its depth may be a list answer with a few items nested too deep: it is
 * answered without them. Parsing it is safe (JSON.parse is iterative, and the text passed the size limit).
 */
function salvageList(refusal: Refused, text: string, limits: JsonLimits | undefined): ParsedMessage {
  if (!limits || !refusal.overLimit?.response || refusal.overLimit.depth !== true) return refusal;
  const pruned = pruneDeepItems(JSON.parse(text), limits.maxDepth);
  if (!pruned) return refusal;
  const checked = checkMessage(pruned.message, '');
  return checked.ok ? { ...checked, dropped: pruned.dropped } : refusal;
}

function parseJson(text: string, what: FrameKind, limits: JsonLimits | undefined): { ok: true; value: unknown } | Refused {
  if (limits) {
    const scan = scanJson(text, limits);
    if (scan.problem !== undefined)
      return {
        ...invalid(`the ${what} passes a limit: ${scan.problem}`, scan.id),
        overLimit: { response: !scan.hasMethod && scan.id !== null, depth: scan.tooDeep },
      };
  }
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (err) {
    // V8's message quotes at most a few characters of the text, so it stays short for huge inputs.
    return refused(new FleetError('PARSE_ERROR', `Parse error: the ${what} is not valid JSON (${(err as Error).message})`));
  }
}

function checkMessage(value: unknown, where: string): ParsedMessage {
  const problem = envelopeProblem(value);
  if (problem === undefined) return { ok: true, message: value as JsonRpcMessage };
  return invalid(where + problem, usableId(value));
}

function invalid(problem: string, id: RequestId | null): Refused {
  return refused(new FleetError('INVALID_REQUEST', `Invalid Request: ${problem}`), id);
}

/** The id to answer a refused message with: only one a reply can carry back unchanged. */
function usableId(value: unknown): RequestId | null {
  if (typeof value !== 'object' || value === null) return null;
  const id = (value as { id?: unknown }).id;
  return typeof id === 'string' || (typeof id === 'number' && Number.isFinite(id)) ? id : null;
}

/**
 * Names what is wrong with the JSON-RPC envelope of a parsed value, or undefined when it is valid.
 * A numeric id must be finite: JSON.parse reads 1e400 as Infinity, which JSON cannot write back,
 * so the answer would go to `"id": null` and never reach its request.
 */
function envelopeProblem(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return `a JSON-RPC message must be a JSON object (got ${show(value)})`;
  const m = value as Record<string, unknown>;
  if (m.jsonrpc !== '2.0') return `"jsonrpc" must be "2.0" (got ${show(m.jsonrpc)})`;
  const hasId = 'id' in m && m.id !== undefined;
  if (hasId && m.id !== null) {
    if (typeof m.id === 'number' && !Number.isFinite(m.id))
      return `"id" must be a finite number (got a number literal too large for a double, read as ${m.id})`;
    if (typeof m.id !== 'string' && typeof m.id !== 'number') return `"id" must be a string or a number (got ${show(m.id)})`;
  }
  if ('method' in m) {
    if (typeof m.method !== 'string' || m.method.length === 0) return `"method" must be a non-empty string (got ${show(m.method)})`;
    if ('params' in m && m.params !== undefined && (typeof m.params !== 'object' || m.params === null || Array.isArray(m.params))) {
      return `"params" must be an object (got ${show(m.params)})`;
    }
    return undefined;
  }
  if (!hasId) return 'a message needs "method" (request or notification) or "id" with "result"/"error" (response)';
  if (!('result' in m) && !('error' in m)) return 'a response needs "result" or "error"';
  return undefined;
}

/** A short description of a bad value for an error message; never the whole of a huge one. */
function show(value: unknown): string {
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object' && value !== null) return 'an object';
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  return String(value);
}
