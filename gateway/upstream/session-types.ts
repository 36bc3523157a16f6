/** The upstream session's own types, apart from the connection so that its helpers can share them without a cycle. */
import type { JsonRpcResponse, RequestId } from '../protocol/jsonrpc';

/** Who a forwarded request came from, so the server's own requests during it can be routed back. */
export interface RequestOrigin {
  clientId: string;
  clientRequestId: RequestId;
}

export interface InitializeParams {
  protocolVersion: string;
  capabilities: Record<string, unknown>;
  clientInfo: Record<string, unknown>;
}

export interface InitializeResult {
  protocolVersion: string;
  capabilities: Record<string, unknown>;
  serverInfo: Record<string, unknown>;
  instructions?: string;
  [extra: string]: unknown;
}

export interface RequestOptions {
  /** Infinity for a request that lasts as long as the connection (a listen stream). */
  timeoutMs: number;
  origin?: RequestOrigin;
  /** A failed send only fails this request: a probe's HTTP 4xx is an answer, not a broken transport. */
  probe?: boolean;
  /** HTTP headers for this request (Streamable HTTP only): its X-Request-Id, a 2026-07-28 tool call's Mcp-Param-*. */
  headers?: Record<string, string>;
}

/** A forwarded request: its upstream id (to cancel it) and the server's answer. */
export interface PendingRequest {
  id: number;
  response: Promise<JsonRpcResponse>;
}

/** What a server→client request resolves to: the `result` or the `error` the server gets back. */
export type ServerRequestOutcome = { result: Record<string, unknown> } | { error: { code: number; message: string; data?: unknown } };

/**
 * Where a server's request or notification came from on the wire: over Streamable HTTP, the
 * upstream id of the forwarded request on whose response stream it arrived. Other transports say nothing.
 */
export interface RequestWire {
  inResponseTo?: number;
}

/**
 * How a request the gateway sent ended, as health evidence (health-monitor.ts): answered (an error
 * answer too: the server is there), or timed out in the gateway. `quiet` says that nothing at all
 * came from the server between `sentAt` and `at` (monotonic ms, performance.now()): no message
 * and, where the transport tells, not one byte of a message still arriving.
 */
export type RequestOutcome =
  { method: string; answered: true } | { method: string; answered: false; error: string; sentAt: number; at: number; quiet: boolean };
