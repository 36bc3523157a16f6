/**
 * Sending: the call goes to its backend's upstream session under a fresh request id, with the
 * gateway's `_meta` keys over the client's (less a 2026 client's envelope) and its progress token swapped for a gateway-wide one
 * (progress from a shared upstream then finds its way back to this client). A cancellation by
 * the client cancels it upstream. The answer is the server's, raw. The token is released when the
 * answer comes, unless an earlier stage holds it (see Call.holdsProgress).
 */
import { withoutEnvelope } from '../../protocol/eras';
import type { JsonRpcResponse } from '../../protocol/jsonrpc';
import { required, type Call, type Next } from '../context';
import type { ProgressRouter } from '../progress';

export function sendStage(progress: ProgressRouter): Next {
  return async (call: Call): Promise<JsonRpcResponse> => {
    const group = required(call.group, 'the server');
    const conn = required(call.connection, 'the upstream session');
    const clientMeta = call.params._meta as Record<string, unknown> | undefined;
    // a 2026 client's envelope describes its hop to the gateway, not the gateway's to the server
    const meta: Record<string, unknown> = { ...withoutEnvelope(clientMeta), ...call.meta };
    let token: string | undefined;
    if (clientMeta && (typeof clientMeta.progressToken === 'string' || typeof clientMeta.progressToken === 'number')) {
      token = progress.register(call.client, clientMeta.progressToken, call.request.id);
      meta.progressToken = token;
      call.progressToken = token;
    }
    // a closed session refuses the request before anything is written: nothing ran upstream
    call.sentUpstream = conn.isOpen;
    const pending = conn.request(
      call.request.method,
      { ...call.params, _meta: meta },
      {
        timeoutMs: call.timeoutMs ?? group.config.requestTimeoutMs,
        origin: { clientId: call.client.id, clientRequestId: call.request.id },
        headers: call.upstreamHeaders,
      },
    );
    if (token) progress.bind(token, conn, pending.id);
    call.cancellation.whenCancelled((reason) => conn.cancel(pending.id, reason));
    try {
      return await pending.response;
    } finally {
      call.cancellation.whenCancelled(undefined);
      if (token) call.answeredInPart = progress.delivered(token);
      if (token && !call.holdsProgress) progress.release(token);
    }
  };
}
