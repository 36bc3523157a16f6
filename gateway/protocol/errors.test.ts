import { ErrorCode } from '@modelcontextprotocol/sdk/types.js';
import { ERROR_CODES, FleetError, NON_RETRYABLE_CODES, toFleetError, type FleetErrorCode } from './errors';

const CODES = Object.keys(ERROR_CODES) as FleetErrorCode[];

describe('the error code table', () => {
  it('maps every code to a JSON-RPC code the SDK or the spec defines, an HTTP error status and a CLI exit', () => {
    // -32002: the 2025 spec's resource not found; -32800: cancellation (errors.ts says why); -32020..-32022: the 2026-07-28 spec's header mismatch, missing capability, unsupported version
    const known = new Set<number>([
      ...Object.values(ErrorCode).filter((v): v is number => typeof v === 'number'),
      -32002,
      -32003,
      -32800,
      -32020,
      -32021,
      -32022,
    ]);
    for (const code of CODES) {
      const e = new FleetError(code, 'x');
      expect({ code, known: known.has(e.jsonRpcCode) }).toEqual({ code, known: true });
      expect(e.httpStatus).toBeGreaterThanOrEqual(400);
      expect(e.httpStatus).toBeLessThan(600);
      expect([1, 2]).toContain(e.exitCode);
    }
  });

  it('keeps the JSON-RPC code and HTTP status of every gateway code as they were', () => {
    const before: Record<string, [number, number]> = {
      CONFIG_INVALID: [-32603, 500],
      PARSE_ERROR: [-32700, 400],
      INVALID_REQUEST: [-32600, 400],
      METHOD_NOT_FOUND: [-32601, 404],
      INVALID_PARAMS: [-32602, 400],
      UNKNOWN_TOOL: [-32602, 404],
      UNKNOWN_PROMPT: [-32602, 404],
      UNKNOWN_RESOURCE: [-32002, 404],
      UPSTREAM_UNAVAILABLE: [-32000, 502],
      UPSTREAM_TIMEOUT: [-32001, 504],
      NO_CLIENT_FOR_REQUEST: [-32601, 409],
      SESSION_NOT_FOUND: [-32001, 404],
      FORBIDDEN_ORIGIN: [-32000, 403],
      FORBIDDEN_HOST: [-32000, 403],
      BODY_TOO_LARGE: [-32600, 413],
      METHOD_NOT_ALLOWED: [-32000, 405],
      NOT_ACCEPTABLE: [-32000, 406],
      STREAM_CONFLICT: [-32000, 409],
      UNSUPPORTED_MEDIA_TYPE: [-32000, 415],
      SHUTTING_DOWN: [-32000, 503],
      UNAUTHORIZED: [-32000, 401],
      NOT_FOUND: [-32000, 404],
      CONFLICT: [-32000, 409],
      INTERNAL: [-32603, 500],
    };
    for (const [code, [jsonRpc, http]] of Object.entries(before)) {
      const e = new FleetError(code as FleetErrorCode, 'x');
      expect([code, e.jsonRpcCode, e.httpStatus]).toEqual([code, jsonRpc, http]);
    }
  });

  it('gives cancellation one code of its own, neither an internal error nor a lost connection', () => {
    const e = new FleetError('CANCELLED', 'request cancelled');
    expect(e.toJsonRpcError()).toEqual({ code: -32800, message: 'request cancelled', data: { fleetCode: 'CANCELLED' } });
    expect(e.httpStatus).toBe(499);
    expect(e.retryable).toBe(false);
  });

  it('lets Temporal retry only what a retry can fix', () => {
    expect(CODES.filter((c) => !NON_RETRYABLE_CODES.includes(c)).sort()).toEqual([
      'CIRCUIT_OPEN',
      'COMMAND_FAILED',
      'INTERNAL',
      'RATE_LIMITED',
      'SHUTTING_DOWN',
      'STORE_UNAVAILABLE',
      'UPSTREAM_TIMEOUT',
      'UPSTREAM_UNAVAILABLE',
    ]);
    // the activities' failure types: all but a failed command were non-retryable before, and still are
    for (const c of ['DOCKER_UNAVAILABLE', 'IMAGE_MISSING', 'BUILD_FAILED', 'BAD_INPUT', 'CANCELLED', 'CHECK_FAILED'] as const)
      expect(NON_RETRYABLE_CODES).toContain(c);
  });

  it('exits 2 for bad input or environment and 1 for work that ran and failed', () => {
    const exit2 = [
      'UNKNOWN_PHASE',
      'UNKNOWN_VERB',
      'BAD_USAGE',
      'BAD_INPUT',
      'TEMPORAL_MISSING',
      'TEMPORAL_UNREACHABLE',
      'DOCKER_UNAVAILABLE',
      'UNKNOWN_RUN',
      'NO_GATE',
      'NO_WORKER',
      'CONFIG_INVALID',
    ] as const;
    for (const c of exit2) expect([c, new FleetError(c, 'x').exitCode]).toEqual([c, 2]);
    for (const c of ['INTERNAL', 'BUILD_FAILED', 'COMMAND_FAILED', 'CHECK_FAILED', 'CANCELLED'] as const)
      expect([c, new FleetError(c, 'x').exitCode]).toEqual([c, 1]);
  });
});

describe('FleetError', () => {
  it('carries its data into the JSON-RPC error and the Temporal failure', () => {
    const e = new FleetError('BAD_INPUT', "params.override must be 'dev' or 'prod' (got 'staging')", { data: { hint: 'pass --override dev' } });
    expect(e.toJsonRpcError()).toEqual({ code: -32602, message: e.message, data: { hint: 'pass --override dev', fleetCode: 'BAD_INPUT' } });
    expect(e.toFailureOptions()).toEqual({ type: 'BAD_INPUT', message: e.message, nonRetryable: true, details: [{ hint: 'pass --override dev' }] });
    expect(new FleetError('COMMAND_FAILED', 'busy').toFailureOptions()).toEqual({ type: 'COMMAND_FAILED', message: 'busy', nonRetryable: false });
  });

  it('wraps a foreign error as INTERNAL, keeping it as the cause', () => {
    const cause = new TypeError('boom');
    const e = toFleetError(cause);
    expect(e).toMatchObject({ code: 'INTERNAL', message: 'boom', cause });
    expect(toFleetError('text')).toMatchObject({ code: 'INTERNAL', message: 'text' });
    const own = new FleetError('NO_GATE', 'no approval gate is waiting');
    expect(toFleetError(own)).toBe(own);
  });
});
