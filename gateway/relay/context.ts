/**
 * The contract of the relay's stages. A client request travels as a `Call` through a chain of
 * stages; each stage does one thing (find the server, pick a backend, carry the trace, count, send)
 * and calls `next`, or answers itself, or throws a FleetError. A stage sees only the call: the
 * client it came from, its cancellation, and what earlier stages decided. It never reaches up into
 * the session or sideways into another stage; anything else it needs is given to it when the chain
 * is built.
 */
import type { Logger } from 'pino';
import type { JsonRpcRequest, JsonRpcResponse } from '../protocol/jsonrpc';
import type { UpstreamConnection } from '../upstream/connection';
import type { Backend } from '../servers/backend';
import type { ServerGroup } from '../servers/group';
import type { Want } from '../servers/lists';
import type { ClientPeer } from './clients';
import type { TraceContext } from './trace-context';

export interface Call {
  /** The request as the client sent it, under the client's own id. */
  readonly request: JsonRpcRequest;
  readonly client: ClientPeer;
  readonly cancellation: Cancellation;
  /** The params that go upstream: the client's, with names mapped back once the call is routed. */
  params: Record<string, unknown>;
  /**
   * The request id of the HTTP request (or WebSocket connection) the call came on: the client's
   * X-Request-Id as the front accepted it, or the one the front made. None over stdio.
   */
  readonly requestId?: string;
  /** Where the call's log lines go: the client's logger with the request id, and the trace id once the correlation stage ran. */
  log: Logger;
  /** The HTTP request's headers, for a 2026-07-28 request over Streamable HTTP (what it mirrored of the body is checked). */
  readonly headers?: Readonly<Record<string, string | string[] | undefined>>;
  /** HTTP headers the upstream request carries besides the routing ones: a 2026-07-28 tool call's Mcp-Param-* (set by the upstream era stage). */
  upstreamHeaders?: Record<string, string>;
  /** Keys the gateway sets in the upstream request's `_meta` (trace context, progress token), over the client's. */
  readonly meta: Record<string, unknown>;
  /** Set by the routing stage: the server that owns what the request names, and what that is. */
  group?: ServerGroup;
  want?: Want;
  /** The backend a retry belongs to (it holds the server's requestState); picked when ready. */
  preferBackend?: string;
  /** Backends this attempt must not go to: the ones earlier attempts of a retried call failed on (set by the retry stage). */
  avoidBackends?: ReadonlySet<string>;
  /** Set by the picking stage. */
  backend?: Backend;
  /** Set by the leasing stage (or, for a task, its routing stage): the upstream session the call goes on. */
  connection?: UpstreamConnection;
  /** Set by the tracing stage. */
  trace?: TraceContext;
  /** How long the upstream may take, when a stage knows better than the server's requestTimeoutMs (tasks/result waits for its task). */
  timeoutMs?: number;
  /** Set by the sending stage: the request went out on an open upstream session (the server may have started on it). */
  sentUpstream?: boolean;
  /** Set by the sending stage: the client heard progress of this attempt, so it was answered in part (a retry would start over). */
  answeredInPart?: boolean;
  /** The gateway-wide progress token the call went upstream with, set by the sending stage. */
  progressToken?: string;
  /** Set by a stage that releases `progressToken` itself, later (a task's progress outlives its call). */
  holdsProgress?: boolean;
}

export type Next = (call: Call) => Promise<JsonRpcResponse>;
export type Stage = (call: Call, next: Next) => Promise<JsonRpcResponse>;

/** Runs `stages` in order, the last one handing on to `end`. */
export function chain(stages: readonly Stage[], end: Next): Next {
  return stages.reduceRight<Next>((next, stage) => (call) => stage(call, next), end);
}

/** What an earlier stage must have set; a missing one is a wiring bug, reported as such. */
export function required<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`relay chain is miswired: ${what} is not set when a stage needs it`);
  return value;
}

/**
 * A client's cancellation of one request. The stage that sends the request upstream registers what
 * cancelling means there; a cancellation that came first is applied as soon as it does.
 */
export class Cancellation {
  private reasonGiven: string | undefined;
  private done = false;
  private onCancel: ((reason: string | undefined) => void) | undefined;

  get cancelled(): boolean {
    return this.done;
  }

  cancel(reason?: string): void {
    if (this.done) return;
    this.done = true;
    this.reasonGiven = reason;
    this.onCancel?.(reason);
  }

  /** What cancelling does now (one action: the request is in one place at a time). */
  whenCancelled(action: ((reason: string | undefined) => void) | undefined): void {
    this.onCancel = action;
    if (this.done && action) action(this.reasonGiven);
  }
}
