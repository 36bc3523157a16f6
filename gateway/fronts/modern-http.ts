/**
 * The 2026-07-28 side of /mcp: a POST without a session whose request claims a modern protocol
 * version in `_meta`. No session is opened or named; each request is checked as the spec's
 * Streamable HTTP transport says (the envelope, then MCP-Protocol-Version, Mcp-Method and Mcp-Name
 * against the body, then the version) and answered on its own: JSON, or an SSE stream when a
 * notification must go first (no event ids, no priming, no resumption). Closing the stream cancels
 * the request. Refusals get the spec's codes and statuses: 400 for the checks, 404 for an unknown
 * method, 200 for what the request itself failed at.
 */
import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { Principal } from '../auth/principal';
import { MODERN_VERSIONS, envelopeClaim, isModernVersion } from '../protocol/eras';
import { ERROR_CODES, FleetError, type FleetErrorCode } from '../protocol/errors';
import { decodeHeaderValue, headerMismatch } from '../protocol/mirrored-headers';
import { errorResponse, isRequest, type JsonRpcMessage, type JsonRpcNotification, type JsonRpcRequest, type JsonRpcResponse } from '../protocol/jsonrpc';
import { NAME_FIELD } from '../protocol/routing-headers';
import { readEnvelope, type RequestSink, type StatelessRequests } from '../session/stateless-requests';
import { SseStream, type SendQueueLimit } from './sse-stream';
import { sendQueue } from './front-limits';

/** Refusals of a served request answered 400 (the spec's), as against the 200 of a request that ran and failed. */
const BAD_REQUEST_CODES = new Set<FleetErrorCode>(['HEADER_MISMATCH', 'MISSING_CLIENT_CAPABILITY', 'UNSUPPORTED_PROTOCOL_VERSION']);
/** The same refusals by their JSON-RPC codes, for a 2026 server's own refusal the gateway relays. */
const BAD_REQUEST_JSONRPC = new Set([...BAD_REQUEST_CODES].map((code) => ERROR_CODES[code].jsonRpc));

export class ModernHttpFront {
  constructor(
    private readonly requests: StatelessRequests,
    private readonly log: Logger,
    /** Bytes an answer's SSE stream may hold for a client that does not read (default unbounded). */
    private readonly sendQueueBytes?: number,
    /** 403 with a challenge for a missing scope (see the listener). */
    private readonly refusalStatus: (response: JsonRpcResponse) => { status: number; headers: Record<string, string> } | undefined = () => undefined,
  ) {}

  /**
   * Whether a POST without a session is the modern era's: its message claims a protocol version in
   * `_meta`, or it sends a modern MCP-Protocol-Version header (then without the envelope it needs).
   */
  claims(message: JsonRpcMessage, headers: IncomingHttpHeaders): boolean {
    if ('method' in message && envelopeClaim(message.params) !== undefined)
      return message.method !== 'initialize' || isModernVersion(headers['mcp-protocol-version']);
    return isModernVersion(headers['mcp-protocol-version']);
  }

  /** Answers one modern POST; every refusal is a JSON-RPC error for the request's id, with its HTTP status. */
  post(headers: IncomingHttpHeaders, res: ServerResponse, message: JsonRpcMessage, principal: Principal, requestId: string): void {
    if (!isRequest(message)) {
      // 2026-07-28 defines no client notification over HTTP (closing a stream cancels it); accepted and dropped.
      res.writeHead(202).end();
      return;
    }
    let envelope;
    try {
      envelope = this.check(headers, message);
    } catch (err) {
      const error = err as FleetError;
      this.log.info({ requestId, method: message.method, code: error.code, err: error.message }, 'modern request refused');
      // what the checks refuse is the request's framing: 400, or 404 for a method this era does not have
      reply(res, errorResponse(message.id, error.toJsonRpcError()), error.code === 'METHOD_NOT_FOUND' ? 404 : 400);
      return;
    }
    const queue = sendQueue(this.sendQueueBytes, (queued) =>
      this.log.warn(
        { requestId, method: message.method, queuedBytes: queued },
        'client does not read its answer stream; stream dropped (limits.sendQueueBytes)',
      ),
    );
    void this.requests.serve(message, envelope, new ExchangeSink(res, queue, this.refusalStatus), principal, { headers, requestId });
  }

  /** The spec's checks, in its order; the first that fails is the answer. */
  private check(headers: IncomingHttpHeaders, request: JsonRpcRequest) {
    const meta = envelopeClaim(request.params);
    if (!meta)
      throw new FleetError(
        'INVALID_PARAMS',
        `Invalid params: a ${MODERN_VERSIONS[0]} request carries its protocol version, capabilities and client info in params._meta`,
      );
    const envelope = readEnvelope(meta);
    const headerVersion = header(headers, 'mcp-protocol-version');
    if (headerVersion === undefined) throw headerMismatch('the MCP-Protocol-Version header is required');
    if (headerVersion !== envelope.protocolVersion)
      throw headerMismatch(`MCP-Protocol-Version ${JSON.stringify(headerVersion)} does not match the body's ${JSON.stringify(envelope.protocolVersion)}`);
    const method = header(headers, 'mcp-method');
    if (method === undefined) throw headerMismatch('the Mcp-Method header is required');
    if (method !== request.method)
      throw headerMismatch(`Mcp-Method ${JSON.stringify(method)} does not match the body's method ${JSON.stringify(request.method)}`);
    if (!(MODERN_VERSIONS as readonly string[]).includes(envelope.protocolVersion)) {
      throw new FleetError('UNSUPPORTED_PROTOCOL_VERSION', 'Unsupported protocol version', {
        data: { supported: [...MODERN_VERSIONS], requested: envelope.protocolVersion },
      });
    }
    const field = NAME_FIELD.get(request.method);
    const value = field === undefined ? undefined : request.params?.[field];
    if (typeof value === 'string') {
      const name = header(headers, 'mcp-name');
      if (name === undefined) throw headerMismatch(`the Mcp-Name header is required for ${request.method}`);
      const decoded = decodeHeaderValue(name);
      if (decoded !== value) throw headerMismatch(`Mcp-Name ${JSON.stringify(name)} does not match the body's ${field} ${JSON.stringify(value)}`);
    }
    return envelope;
  }
}

/** A header as one trimmed value (a repeated header is a mismatch of its own). */
function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  if (value === undefined) return undefined;
  if (Array.isArray(value)) throw headerMismatch(`the ${name} header is given more than once`);
  return value.trim();
}

/** The status of a served request's refusal: 404 for an unknown method, 400 for the spec's framing errors, else 200 (the error is in the body). */
function statusOf(error: FleetError): number {
  if (error.code === 'METHOD_NOT_FOUND') return 404;
  return BAD_REQUEST_CODES.has(error.code) ? 400 : 200;
}

/** A relayed answer is 200, unless it is a refusal the spec answers 400 (a 2026 server behind the gateway refused it so). */
function relayedStatus(response: JsonRpcResponse): number {
  return 'error' in response && BAD_REQUEST_JSONRPC.has(response.error.code) ? 400 : 200;
}

function reply(res: ServerResponse, response: JsonRpcResponse, status: number, headers: Record<string, string> = {}): void {
  if (res.headersSent || res.writableEnded) return;
  const body = JSON.stringify(response);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)), ...headers }).end(body);
}

/** One POST's answer: JSON when nothing must precede it, else an SSE stream of the notifications, then it. */
class ExchangeSink implements RequestSink {
  private stream: SseStream | undefined;
  private done = false;
  private gone: (() => void) | undefined;

  constructor(
    private readonly res: ServerResponse,
    private readonly queue: SendQueueLimit,
    private readonly refusalStatus: (response: JsonRpcResponse) => { status: number; headers: Record<string, string> } | undefined,
  ) {
    res.once('close', () => {
      if (this.done) return;
      this.done = true;
      this.gone?.();
    });
  }

  notify(message: JsonRpcNotification): void {
    if (this.done) return;
    this.stream ??= new SseStream(this.res, {}, undefined, () => {}, this.queue);
    this.stream.send(undefined, JSON.stringify(message));
  }

  answer(response: JsonRpcResponse, error?: FleetError): void {
    if (this.done) return;
    this.done = true;
    const refusal = this.refusalStatus(response);
    if (!this.stream) return reply(this.res, response, refusal?.status ?? (error ? statusOf(error) : relayedStatus(response)), refusal?.headers);
    this.stream.send(undefined, JSON.stringify(response));
    this.stream.end();
  }

  onGone(listener: () => void): void {
    this.gone = listener;
  }
}
