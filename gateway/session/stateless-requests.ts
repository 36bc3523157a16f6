/**
 * Clients of MCP 2026-07-28, one request at a time: no session, no handshake. Each request brings
 * its protocol version, the client's capabilities and identity (and a log level if it wants log
 * lines) in `_meta`, so any gateway instance can answer it from configuration and upstream state
 * alone. A request's client is a StatelessClient: it hears only what relates to its request
 * (progress, log lines) on that request's own answer, and the servers' questions reach it as an
 * input_required result (relay/held-calls.ts).
 */
import type { Logger } from 'pino';
import type { PresentedToken } from '../auth/presented-token';
import type { Principal } from '../auth/principal';
import { META } from '../protocol/eras';
import { FleetError, toFleetError } from '../protocol/errors';
import { errorResponse, type JsonRpcNotification, type JsonRpcRequest, type JsonRpcResponse, type RequestId } from '../protocol/jsonrpc';
import type { ClientPeer } from '../relay/clients';
import { Cancellation, type Call } from '../relay/context';
import { forModernError } from '../relay/era-results';
import { Questions, type StatelessPeer } from '../relay/held-calls';
import { isLogLevel, type LogLevel } from '../relay/log-levels';
import type { Relay } from '../relay/relay';
import { routeOf } from '../relay/routes';
import type { UpstreamConnection } from '../upstream/connection';
import { childLater } from '../child-later';

/** Where a stateless request's answer goes: the front's HTTP exchange for it. */
export interface RequestSink {
  /** A notification related to the request (progress, a log line; on a listen stream, changes): the answer becomes a stream. */
  notify(message: JsonRpcNotification): void;
  /** The request's answer; `error` is the gateway's own refusal, when it is one (the front picks the HTTP status by it). */
  answer(response: JsonRpcResponse, error?: FleetError): void;
  /** Runs once when the client goes away before the answer (closing the stream cancels the request). */
  onGone(listener: () => void): void;
}

/** The envelope of a 2026-07-28 request, checked by the front. */
export interface Envelope {
  protocolVersion: string;
  capabilities: Record<string, unknown>;
  clientInfo: Record<string, unknown>;
  logLevel: LogLevel | undefined;
}

/** Reads the envelope of a request's `_meta`; INVALID_PARAMS naming the key when one is missing or malformed. */
export function readEnvelope(meta: Record<string, unknown>): Envelope {
  const version = meta[META.protocolVersion];
  const capabilities = meta[META.clientCapabilities];
  const info = meta[META.clientInfo];
  const level = meta[META.logLevel];
  if (typeof version !== 'string') throw envelopeProblem(`${META.protocolVersion} must be a string`);
  if (typeof capabilities !== 'object' || capabilities === null || Array.isArray(capabilities)) {
    throw envelopeProblem(`${META.clientCapabilities} must be an object (the capabilities of the client; {} for none)`);
  }
  if (info !== undefined && (typeof info !== 'object' || info === null || Array.isArray(info))) throw envelopeProblem(`${META.clientInfo} must be an object`);
  if (level !== undefined && !isLogLevel(level)) throw envelopeProblem(`${META.logLevel} must be a logging level (got ${JSON.stringify(level)})`);
  return {
    protocolVersion: version,
    capabilities: capabilities as Record<string, unknown>,
    clientInfo: (info ?? {}) as Record<string, unknown>,
    logLevel: level,
  };
}

function envelopeProblem(what: string): FleetError {
  return new FleetError('INVALID_PARAMS', `Invalid params: the request's _meta is missing a required key or has a malformed one: ${what}`);
}

/** Names each stateless client within this process (the directory of attached clients keys by it); nothing outside sees it. */
let nextClient = 0;

/** The client of one stateless request (or of a call held across its retries). */
export class StatelessClient implements StatelessPeer {
  readonly era = 'modern' as const;
  readonly id = `m-${++nextClient}`;
  readonly operating = true;
  readonly questions = new Questions();

  constructor(
    private readonly envelope: Envelope,
    readonly principal: Principal,
    readonly log: Logger,
    private sink: RequestSink,
  ) {}

  get capabilities(): Record<string, unknown> {
    return this.envelope.capabilities;
  }

  get clientInfo(): Record<string, unknown> {
    return this.envelope.clientInfo;
  }

  get protocolVersion(): string {
    return this.envelope.protocolVersion;
  }

  get logLevel(): LogLevel | undefined {
    return this.envelope.logLevel;
  }

  notify(method: string, params?: Record<string, unknown>, _related?: RequestId): void {
    this.sink.notify(params === undefined ? { jsonrpc: '2.0', method } : { jsonrpc: '2.0', method, params });
  }

  ask(request: JsonRpcRequest, _related: RequestId | undefined, timeoutMs: number, from: UpstreamConnection): Promise<JsonRpcResponse> {
    return this.questions.ask(request, timeoutMs, from);
  }

  withdraw(from: UpstreamConnection, upstreamId: RequestId): boolean {
    return this.questions.withdraw(from, upstreamId);
  }

  subjectToken(): PresentedToken | undefined {
    return this.principal.token;
  }

  takeOver(retry: ClientPeer): void {
    if (retry instanceof StatelessClient) this.sink = retry.sink;
  }
}

/** Serves stateless requests; counts the ones in flight, so that shutdown drains them too. */
export class StatelessRequests {
  private running = 0;
  /** The clients' logger: each request's lines go to a child of it that names the request id (and, once traced, the trace id). */
  private readonly log: Logger;

  constructor(
    private readonly relay: Relay,
    private readonly draining: () => boolean,
    log: Logger,
  ) {
    this.log = log.child({ era: 'modern' });
  }

  get inFlightCount(): number {
    return this.running;
  }

  /**
   * Answers `request` of `principal` into `sink`; never throws (a refusal is an error answer).
   * `http`: the HTTP request's headers and request id, over Streamable HTTP.
   */
  async serve(
    request: JsonRpcRequest,
    envelope: Envelope,
    sink: RequestSink,
    principal: Principal,
    http?: { headers: Call['headers']; requestId: string },
  ): Promise<void> {
    const log = http ? childLater(this.log, { requestId: http.requestId }) : this.log;
    const client = new StatelessClient(envelope, principal, log, sink);
    const cancellation = new Cancellation();
    const call: Call = {
      request,
      client,
      cancellation,
      params: request.params ?? {},
      meta: {},
      log,
      ...(http ? { headers: http.headers, requestId: http.requestId } : {}),
    };
    sink.onGone(() => cancellation.cancel('the client closed the stream'));
    this.running++;
    try {
      const route = routeOf(request.method, 'modern');
      if (this.draining()) throw new FleetError('SHUTTING_DOWN', 'the gateway is shutting down; send the request to another instance or retry later');
      if (route.kind === 'initialize') throw new FleetError('METHOD_NOT_FOUND', `Method not found: ${request.method}`);
      const response = await this.relay.handle(call, route);
      // a client that closed the stream is gone: the front drops what comes after
      sink.answer({ ...response, id: request.id });
    } catch (err) {
      const error = toFleetError(err);
      if (error.code === 'INTERNAL') call.log.error({ err, request: request.id, method: request.method }, 'request failed');
      else call.log.info({ request: request.id, method: request.method, code: error.code, err: error.message }, 'request refused');
      sink.answer(errorResponse(request.id, forModernError(error.toJsonRpcError())), error);
    } finally {
      this.running--;
    }
  }
}
