/**
 * The project's one error vocabulary: a string `code` says what failed, and each code maps once, in
 * ERROR_CODES, to a JSON-RPC error code, an HTTP status, a CLI exit code and whether a Temporal retry
 * can help. The gateway fronts, the pipeline CLI and the Temporal activities and workflows all speak
 * about a failure through this one table.
 *
 * Pure (no Node built-ins, no Temporal import): Temporal workflow code imports it.
 */
import type { ErrorCode } from '@modelcontextprotocol/sdk/types.js';
import { redactSecrets } from './redaction';

/**
 * The SDK's ErrorCode numbers, checked against its enum by the compiler but not imported at run
 * time: the enum lives in the SDK's types module, whose zod schemas would take the Temporal
 * workflow bundle from 1.7 to 4.5 MB.
 */
export const SdkCode = {
  ConnectionClosed: -32000,
  RequestTimeout: -32001,
  ParseError: -32700,
  InvalidRequest: -32600,
  MethodNotFound: -32601,
  InvalidParams: -32602,
  InternalError: -32603,
} as const satisfies { [K in keyof typeof ErrorCode]?: (typeof ErrorCode)[K] };

/** The 2025 spec's "resource not found" for resources/read of an unknown URI; the SDK's enum has no member for it. */
export const RESOURCE_NOT_FOUND = -32002;
/**
 * A request the client or the gateway cancelled. Neither JSON-RPC nor MCP defines a number (MCP
 * says a cancelled request gets no answer; the gateway answers its own waiters). -32800 is LSP's
 * RequestCancelled, the convention JSON-RPC peers know, and lies outside JSON-RPC's reserved
 * -32768..-32000 band, so no peer reads it as the SDK's ConnectionClosed (-32000) or as a bug (-32603).
 */
const REQUEST_CANCELLED = -32800;
/** MCP 2026-07-28 reserves -32020..-32099 for the spec's own errors (basic/index "error codes"). */
const HEADER_MISMATCH = -32020;
const MISSING_REQUIRED_CLIENT_CAPABILITY = -32021;
const UNSUPPORTED_PROTOCOL_VERSION = -32022;
/**
 * A principal the gateway knows was refused by policy. Implementation-defined (-32000..-32019 is
 * outside what either MCP revision reserves); -32003 reads as "forbidden" to peers that use the
 * HTTP-like numbering.
 */
const FORBIDDEN = -32003;

interface CodeSpec {
  /** -32000 (the SDK's ConnectionClosed number) is also what the SDK's own HTTP transport answers for a refused request. */
  jsonRpc: number;
  http: number;
  /** For a CLI that stops on it: 2 = bad input or environment, the caller must change something; 1 = it ran and failed. */
  exit: 1 | 2;
  /** A Temporal retry can help: the engine, the stack or a peer may just be busy. Otherwise the failure is non-retryable. */
  retryable: boolean;
}

/** Bad input, or something the work needs (an engine, a server, a worker) is not there: only the caller can fix it. */
const input = (jsonRpc: number, http: number): CodeSpec => ({ jsonRpc, http, exit: 2, retryable: false });
/** Work that ran and failed: the request was fine, so it is an internal error, not a request error. */
const failed = (retryable: boolean): CodeSpec => ({ jsonRpc: SdkCode.InternalError, http: 500, exit: 1, retryable });

export const ERROR_CODES = {
  // the gateway: config, JSON-RPC and HTTP
  CONFIG_INVALID: input(SdkCode.InternalError, 500),
  PARSE_ERROR: input(SdkCode.ParseError, 400),
  INVALID_REQUEST: input(SdkCode.InvalidRequest, 400),
  METHOD_NOT_FOUND: input(SdkCode.MethodNotFound, 404),
  INVALID_PARAMS: input(SdkCode.InvalidParams, 400),
  UNKNOWN_TOOL: input(SdkCode.InvalidParams, 404),
  UNKNOWN_PROMPT: input(SdkCode.InvalidParams, 404),
  UNKNOWN_RESOURCE: input(RESOURCE_NOT_FOUND, 404),
  UPSTREAM_UNAVAILABLE: { jsonRpc: SdkCode.ConnectionClosed, http: 502, exit: 2, retryable: true },
  UPSTREAM_TIMEOUT: { jsonRpc: SdkCode.RequestTimeout, http: 504, exit: 1, retryable: true },
  /** Every backend that could serve the request has an open circuit breaker: refused at once, `data.retryAfterMs` until one is probed again. */
  CIRCUIT_OPEN: { jsonRpc: SdkCode.ConnectionClosed, http: 503, exit: 1, retryable: true },
  NO_CLIENT_FOR_REQUEST: input(SdkCode.MethodNotFound, 409),
  /** -32001: the number the SDK's HTTP transport answers "Session not found" with (its enum calls it RequestTimeout). */
  SESSION_NOT_FOUND: input(SdkCode.RequestTimeout, 404),
  FORBIDDEN_ORIGIN: input(SdkCode.ConnectionClosed, 403),
  FORBIDDEN_HOST: input(SdkCode.ConnectionClosed, 403),
  BODY_TOO_LARGE: input(SdkCode.InvalidRequest, 413),
  METHOD_NOT_ALLOWED: input(SdkCode.ConnectionClosed, 405),
  NOT_ACCEPTABLE: input(SdkCode.ConnectionClosed, 406),
  STREAM_CONFLICT: input(SdkCode.ConnectionClosed, 409),
  UNSUPPORTED_MEDIA_TYPE: input(SdkCode.ConnectionClosed, 415),
  SHUTTING_DOWN: { jsonRpc: SdkCode.ConnectionClosed, http: 503, exit: 1, retryable: true },
  UNAUTHORIZED: input(SdkCode.ConnectionClosed, 401),
  /** The credential is good but lacks a scope (RFC 6750 insufficient_scope): the client may step up. */
  INSUFFICIENT_SCOPE: input(FORBIDDEN, 403),
  /** The principal is known and a rule (policy, admin role, registration allowlist) refuses it. */
  FORBIDDEN: input(FORBIDDEN, 403),
  /** Too many requests (a `rateLimits` rule) or failed authentications from one client: it must wait `data.retryAfterMs` (Retry-After on HTTP). */
  RATE_LIMITED: { jsonRpc: SdkCode.ConnectionClosed, http: 429, exit: 1, retryable: true },
  /** The store replicas share (store.redis) did not answer: a session it holds cannot be resumed now; retry. */
  STORE_UNAVAILABLE: { jsonRpc: SdkCode.ConnectionClosed, http: 503, exit: 1, retryable: true },
  NOT_FOUND: input(SdkCode.ConnectionClosed, 404),
  CONFLICT: input(SdkCode.ConnectionClosed, 409),
  // MCP 2026-07-28: a request's headers disagree with its body, it needs a capability its client did not
  // declare, or it speaks a protocol version the gateway does not; each is answered 400 on HTTP.
  HEADER_MISMATCH: input(HEADER_MISMATCH, 400),
  MISSING_CLIENT_CAPABILITY: input(MISSING_REQUIRED_CLIENT_CAPABILITY, 400),
  UNSUPPORTED_PROTOCOL_VERSION: input(UNSUPPORTED_PROTOCOL_VERSION, 400),
  /** A multi-round-trip retry whose requestState is not the gateway's, was altered, expired, or belongs to another request. */
  INVALID_REQUEST_STATE: input(SdkCode.InvalidParams, 400),
  /** MCP 2025-11-25 tasks: an unknown, expired or another client's task id is the spec's -32602 ("Task not found"). */
  UNKNOWN_TASK: input(SdkCode.InvalidParams, 404),
  /** A cap of the gateway's `limits:` is reached (sessions, connections, requests in flight, a per-session server's sessions, a server's maxConcurrent queue). */
  LIMIT_REACHED: input(SdkCode.InvalidRequest, 429),
  /** A server sent a message over its `limits:` (too long, nested too deep): what it answered is refused, the server stays up. */
  UPSTREAM_BAD_MESSAGE: { jsonRpc: SdkCode.InternalError, http: 502, exit: 1, retryable: false },
  /** A message JSON cannot write (it nests too deep for JSON.stringify): only its own request fails. */
  UNSERIALIZABLE: input(SdkCode.InvalidParams, 400),
  /** The gateway holds as many tasks as `tasks.maxTasks` allows. */
  TOO_MANY_TASKS: input(SdkCode.InvalidRequest, 429),
  /** 499: "client closed request" (nginx, gRPC gateways); a retry of a cancelled request would undo the cancel. */
  CANCELLED: { jsonRpc: REQUEST_CANCELLED, http: 499, exit: 1, retryable: false },
  /** An unexpected error: Temporal's default for errors it does not know, a retry, applies. */
  INTERNAL: { jsonRpc: SdkCode.InternalError, http: 500, exit: 1, retryable: true },

  // the pipeline: what is wrong with a CLI or MCP request, or with the machine it runs on
  UNKNOWN_PHASE: input(SdkCode.InvalidParams, 404),
  UNKNOWN_VERB: input(SdkCode.InvalidParams, 404),
  BAD_USAGE: input(SdkCode.InvalidParams, 400),
  /** A bad value in a run's options or a step's params (INVALID_PARAMS is about a JSON-RPC request's shape). */
  BAD_INPUT: input(SdkCode.InvalidParams, 400),
  UNKNOWN_RUN: input(SdkCode.InvalidParams, 404),
  NO_GATE: input(SdkCode.ConnectionClosed, 409),
  TEMPORAL_MISSING: input(SdkCode.ConnectionClosed, 503),
  TEMPORAL_UNREACHABLE: input(SdkCode.ConnectionClosed, 503),
  NO_WORKER: input(SdkCode.ConnectionClosed, 503),
  DOCKER_UNAVAILABLE: input(SdkCode.ConnectionClosed, 503),
  IMAGE_MISSING: input(SdkCode.ConnectionClosed, 503),

  // the pipeline's steps: work that ran and failed
  BUILD_FAILED: failed(false),
  /** The only retryable step failure: a busy engine or a slow build may pass next time. */
  COMMAND_FAILED: failed(true),
  /** A check that ran and found the system wrong. */
  CHECK_FAILED: failed(false),
} satisfies Record<string, CodeSpec>;

export type FleetErrorCode = keyof typeof ERROR_CODES;

/** Failure types a Temporal retry cannot help: workflows pass them as `nonRetryableErrorTypes`. */
export const NON_RETRYABLE_CODES: readonly FleetErrorCode[] = (Object.keys(ERROR_CODES) as FleetErrorCode[]).filter((c) => !ERROR_CODES[c].retryable);

type WireError = { code: number; message: string; data?: Record<string, unknown> };

/** Sees every error as it goes on the wire: the test run's output tap (output-tap.ts); nobody otherwise. */
let wireErrorTap: ((error: WireError) => void) | undefined;

export function tapWireErrors(tap: (error: WireError) => void): void {
  wireErrorTap = tap;
}

export class FleetError extends Error {
  readonly code: FleetErrorCode;
  readonly data: Record<string, unknown> | undefined;

  constructor(code: FleetErrorCode, message: string, options: { data?: Record<string, unknown>; cause?: unknown } = {}) {
    // an upstream's answer or a foreign error quoted in the message must not carry a secret to a client
    super(redactSecrets(message), { cause: options.cause });
    this.name = 'FleetError';
    this.code = code;
    this.data = options.data;
  }

  get jsonRpcCode(): number {
    return ERROR_CODES[this.code].jsonRpc;
  }

  get httpStatus(): number {
    return ERROR_CODES[this.code].http;
  }

  get exitCode(): 1 | 2 {
    return ERROR_CODES[this.code].exit;
  }

  get retryable(): boolean {
    return ERROR_CODES[this.code].retryable;
  }

  /** The `error` member of a JSON-RPC error response. */
  toJsonRpcError(): WireError {
    const error = { code: this.jsonRpcCode, message: this.message, data: { ...this.data, fleetCode: this.code } };
    wireErrorTap?.(error);
    return error;
  }

  /**
   * The options of the Temporal `ApplicationFailure` this error becomes (type = the code, `data`
   * as the first detail), as plain data so this module needs no Temporal import.
   */
  toFailureOptions(): { type: FleetErrorCode; message: string; nonRetryable: boolean; details?: unknown[] } {
    return { type: this.code, message: this.message, nonRetryable: !this.retryable, ...(this.data ? { details: [this.data] } : {}) };
  }
}

/** Any thrown value as a FleetError, so callers never special-case foreign errors. */
export function toFleetError(err: unknown): FleetError {
  if (err instanceof FleetError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new FleetError('INTERNAL', message, { cause: err });
}
