/**
 * Resource subscriptions: each client's are recorded (resource updates reach only subscribers).
 * A shared server (a tenant's upstream of a per-principal one) hears one subscribe per URI however many clients subscribe, and one unsubscribe
 * when the last one leaves; the others are answered by the gateway. What is forwarded goes to every
 * ready backend that has the resource (one answers the client), so a backend that goes away, such as
 * a rolled-back canary, takes no subscription with it.
 */
import { resultResponse } from '../../protocol/jsonrpc';
import type { ClientDirectory } from '../clients';
import { required, type Stage } from '../context';
import type { SharedUpstreamState } from '../shared-upstream-state';

export function subscriptionStage(subscribe: boolean, clients: ClientDirectory, shared: SharedUpstreamState): Stage {
  return async (call, next) => {
    const group = required(call.group, 'the server');
    const want = required(call.want, 'what the call names');
    const uri = String(call.params.uri);
    const client = clients.get(call.client.id);
    const had = client?.subscriptions.has(uri) ?? false;
    if (subscribe) client?.subscriptions.add(uri);
    else client?.subscriptions.delete(uri);
    if (group.owner === undefined) {
      const upstreamMustKnow = subscribe ? shared.subscribe(group, uri, call.client.id) : shared.unsubscribe(group, uri, call.client.id);
      if (!upstreamMustKnow) return resultResponse(call.request.id, {});
    }
    // A subscribe the upstream refused is not kept: else the next subscriber would be answered "subscribed" by the gateway alone.
    const refused = () => {
      if (!subscribe || had) return;
      client?.subscriptions.delete(uri);
      if (group.owner === undefined) shared.unsubscribe(group, uri, call.client.id);
    };
    const reply = await next(call).catch((err: unknown) => {
      refused();
      throw err;
    });
    if (subscribe && 'error' in reply) {
      refused();
      return reply;
    }
    const answered = required(call.backend, 'the backend');
    for (const other of group.others(want, answered)) void other.connection?.fireAndForget(call.request.method, { uri }, group.config.requestTimeoutMs);
    return reply;
  };
}
