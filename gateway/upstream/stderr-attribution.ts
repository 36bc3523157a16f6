/**
 * Which calls a stdio server's stderr line may belong to. A server's stderr says nothing of the
 * request it is about, so the gateway can only tell which of its calls were in flight on that
 * process when the line arrived: with exactly one, the line gets that call's trace and request id
 * (`trace`, `requestId`, as on the gateway's own lines of the call); with several, only how many
 * (`callsInFlight`); with none, nothing. The server and backend are on every line anyway (the
 * transport's logger names them).
 */
import { isNotification, isRequest, isResponse, type JsonRpcMessage, type RequestId } from '../protocol/jsonrpc';
import { requestIdIn } from '../protocol/request-id';

/** More requests than this unanswered on one process means answers were lost: the oldest are forgotten. */
const MAX_TRACKED = 4096;
const TRACEPARENT = /^00-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$/;

interface Correlation {
  trace?: string;
  requestId?: string;
}

export class CallsInFlight {
  private readonly calls = new Map<RequestId, Correlation>();

  /** A message went to the server: a request is in flight until its answer, or its cancellation, passes. */
  sent(message: JsonRpcMessage): void {
    if (isRequest(message)) this.track(message.id, message.params?._meta as Record<string, unknown> | undefined);
    else if (isNotification(message) && message.method === 'notifications/cancelled') this.calls.delete(message.params?.requestId as RequestId);
  }

  /** A message came from the server: an answer ends its request. */
  received(message: JsonRpcMessage): void {
    if (isResponse(message)) this.calls.delete(message.id as RequestId);
  }

  /** The fields a stderr line read now gets. */
  fields(): Record<string, unknown> {
    if (this.calls.size === 0) return {};
    if (this.calls.size > 1) return { callsInFlight: this.calls.size };
    const [only] = this.calls.values();
    return { ...only };
  }

  private track(id: RequestId, meta: Record<string, unknown> | undefined): void {
    const trace = typeof meta?.traceparent === 'string' ? TRACEPARENT.exec(meta.traceparent)?.[1] : undefined;
    const requestId = requestIdIn(meta);
    // requests the gateway makes itself (pings, list fetches) carry neither: they are no client's call
    if (trace === undefined && requestId === undefined) return;
    if (this.calls.size >= MAX_TRACKED) this.calls.delete(this.calls.keys().next().value!);
    this.calls.set(id, { ...(trace ? { trace } : {}), ...(requestId ? { requestId } : {}) });
  }
}
