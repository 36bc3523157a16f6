/**
 * Routing: finds the server that owns what a call names (a tool, prompt or resource) in the
 * client's merged view, maps the exposed name back to the server's own, and finds that server's
 * live group for this client. An unknown name is the client's error, named in the answer; a name
 * of a server being drained (removed or replaced by a config reload), or of a shared server that
 * is reconnecting (its lists are empty until it is back), is refused saying so, as unavailable. From
 * here on the call counts as in flight on its group until it settles, which is what a drain waits for.
 */
import type { CatalogView } from '../../catalog/view';
import { FleetError } from '../../protocol/errors';
import type { ServerGroup } from '../../servers/group';
import type { ClientPeer } from '../clients';
import type { Stage } from '../context';
import type { TargetOf } from '../routes';

export interface RoutingDeps {
  view(client: ClientPeer): CatalogView;
  /** The live group of `server` that serves `client`; undefined when the server just went away. */
  group(client: ClientPeer, server: string): ServerGroup | undefined;
  /** The server being drained that offered this exposed name or URI, if any. */
  drainingServerOf(name: string): string | undefined;
  /** The shared server that offered it while connected, and is not connected now (reconnecting), if any. */
  reconnectingServerOf(name: string): string | undefined;
}

export function resolveStage(targetOf: TargetOf, deps: RoutingDeps): Stage {
  return (call, next) => {
    let target;
    try {
      target = targetOf(call.params, deps.view(call.client), call.request.method);
    } catch (err) {
      throw unavailableRefusal(call.params, deps) ?? err;
    }
    const group = deps.group(call.client, target.server);
    if (!group) throw new FleetError('UPSTREAM_UNAVAILABLE', `server "${target.server}" was just removed`, { data: { server: target.server } });
    call.group = group;
    call.want = target.want;
    call.params = target.params;
    return group.track(() => next(call));
  };
}

/** A name no server offers now, but one did: the server is being drained, or it is reconnecting (retryable, unlike an unknown name). */
function unavailableRefusal(params: Record<string, unknown> | undefined, deps: RoutingDeps): FleetError | undefined {
  const name = params?.name ?? params?.uri;
  if (typeof name !== 'string') return undefined;
  const draining = deps.drainingServerOf(name);
  if (draining !== undefined)
    return new FleetError(
      'UPSTREAM_UNAVAILABLE',
      `server "${draining}" is being removed (the gateway's config changed): it takes no new calls; calls in flight on it finish`,
      { data: { server: draining } },
    );
  const reconnecting = deps.reconnectingServerOf(name);
  if (reconnecting === undefined) return undefined;
  return new FleetError('UPSTREAM_UNAVAILABLE', `server "${reconnecting}", which offers ${name}, is not connected now (reconnecting); retry shortly`, {
    data: { server: reconnecting },
  });
}
