/**
 * Correlation: from here on every log line of the call names its trace id (and the request id the
 * front bound), and the upstream request carries the request id in `_meta` and, over HTTP, as
 * X-Request-Id, so the server's own logs can be joined with the gateway's. Runs after the tracing
 * stage, whose trace id it binds. The binding waits for the call's first line (child-later.ts).
 */
import { childLater } from '../../child-later';
import { REQUEST_ID_HEADER, REQUEST_ID_META } from '../../protocol/request-id';
import { required, type Stage } from '../context';

export const correlateStage: Stage = (call, next) => {
  call.log = childLater(call.log, { trace: required(call.trace, 'the trace').traceId });
  if (call.requestId !== undefined) {
    call.meta[REQUEST_ID_META] = call.requestId;
    call.upstreamHeaders = { ...call.upstreamHeaders, [REQUEST_ID_HEADER]: call.requestId };
  }
  return next(call);
};
