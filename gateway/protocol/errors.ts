/**
 * The project's one error vocabulary: a string `code` says what failed, and each code maps once to
 * a JSON-RPC error code and an HTTP status, so every front speaks about the same failure the same way.
 */

export type FleetErrorCode =
  | 'CONFIG_INVALID'
  | 'PARSE_ERROR'
  | 'INVALID_REQUEST'
  | 'METHOD_NOT_FOUND'
  | 'INVALID_PARAMS'
  | 'UNKNOWN_TOOL'
  | 'UNKNOWN_PROMPT'
  | 'UNKNOWN_RESOURCE'
  | 'UPSTREAM_UNAVAILABLE'
  | 'UPSTREAM_TIMEOUT'
  | 'NO_CLIENT_FOR_REQUEST'
  | 'CANCELLED'
  | 'SESSION_NOT_FOUND'
  | 'FORBIDDEN_ORIGIN'
  | 'FORBIDDEN_HOST'
  | 'BODY_TOO_LARGE'
  | 'METHOD_NOT_ALLOWED'
  | 'NOT_ACCEPTABLE'
  | 'STREAM_CONFLICT'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'SHUTTING_DOWN'
  | 'UNAUTHORIZED'
  | 'NOT_FOUND'
  | 'CONFLICT'
  | 'INTERNAL';

interface CodeMapping {
  jsonRpc: number;
  http: number;
}

/** -32002 is the spec's "resource not found"; -32000 is the SDK's ConnectionClosed, reused for upstream loss. */
const MAPPING: Record<FleetErrorCode, CodeMapping> = {
  CONFIG_INVALID: { jsonRpc: -32603, http: 500 },
  PARSE_ERROR: { jsonRpc: -32700, http: 400 },
  INVALID_REQUEST: { jsonRpc: -32600, http: 400 },
  METHOD_NOT_FOUND: { jsonRpc: -32601, http: 404 },
  INVALID_PARAMS: { jsonRpc: -32602, http: 400 },
  UNKNOWN_TOOL: { jsonRpc: -32602, http: 404 },
  UNKNOWN_PROMPT: { jsonRpc: -32602, http: 404 },
  UNKNOWN_RESOURCE: { jsonRpc: -32002, http: 404 },
  UPSTREAM_UNAVAILABLE: { jsonRpc: -32000, http: 502 },
  UPSTREAM_TIMEOUT: { jsonRpc: -32001, http: 504 },
  NO_CLIENT_FOR_REQUEST: { jsonRpc: -32601, http: 409 },
  CANCELLED: { jsonRpc: -32800, http: 499 },
  SESSION_NOT_FOUND: { jsonRpc: -32001, http: 404 },
  FORBIDDEN_ORIGIN: { jsonRpc: -32000, http: 403 },
  FORBIDDEN_HOST: { jsonRpc: -32000, http: 403 },
  BODY_TOO_LARGE: { jsonRpc: -32600, http: 413 },
  METHOD_NOT_ALLOWED: { jsonRpc: -32000, http: 405 },
  NOT_ACCEPTABLE: { jsonRpc: -32000, http: 406 },
  STREAM_CONFLICT: { jsonRpc: -32000, http: 409 },
  UNSUPPORTED_MEDIA_TYPE: { jsonRpc: -32000, http: 415 },
  SHUTTING_DOWN: { jsonRpc: -32000, http: 503 },
  UNAUTHORIZED: { jsonRpc: -32000, http: 401 },
  NOT_FOUND: { jsonRpc: -32000, http: 404 },
  CONFLICT: { jsonRpc: -32000, http: 409 },
  INTERNAL: { jsonRpc: -32603, http: 500 },
};

export class FleetError extends Error {
  readonly code: FleetErrorCode;
  readonly data: Record<string, unknown> | undefined;

  constructor(code: FleetErrorCode, message: string, options: { data?: Record<string, unknown>; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.name = 'FleetError';
    this.code = code;
    this.data = options.data;
  }

  get jsonRpcCode(): number {
    return MAPPING[this.code].jsonRpc;
  }

  get httpStatus(): number {
    return MAPPING[this.code].http;
  }

  /** The `error` member of a JSON-RPC error response. */
  toJsonRpcError(): { code: number; message: string; data?: Record<string, unknown> } {
    const data = { ...this.data, fleetCode: this.code };
    return { code: this.jsonRpcCode, message: this.message, data };
  }
}

/** Any thrown value as a FleetError, so callers never special-case foreign errors. */
export function toFleetError(err: unknown): FleetError {
  if (err instanceof FleetError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new FleetError('INTERNAL', message, { cause: err });
}
