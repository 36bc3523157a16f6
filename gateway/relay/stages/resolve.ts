/**
 * Routing: finds the server that owns what a call names (a tool, prompt or resource) in the
 * client's merged view, maps the exposed name back to the server's own, and finds that server's
 * live group for this client. An unknown name is the client's error, named in the answer; a name
 * of a server being drained (removed or replaced by a config reload) is refused saying so. From
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
}

export function resolveStage(targetOf: TargetOf, deps: RoutingDeps): Stage {
  return (call, next) => {
    let target;
    try {
      target = targetOf(call.params, deps.view(call.client), call.request.method);
    } catch (err) {
      throw drainingRefusal(call.params, deps) ?? err;
    }
    const group = deps.group(call.client, target.server);
    if (!group) throw new FleetError('UPSTREAM_UNAVAILABLE', `server "${target.server}" was just removed`, { data: { server: target.server } });
    call.group = group;
    call.want = target.want;
    call.params = target.params;
    return group.track(() => next(call));
  };
}

function drainingRefusal(params: Record<string, unknown> | undefined, deps: RoutingDeps): FleetError | undefined {
  const name = params?.name ?? params?.uri;
  const server = typeof name === 'string' ? deps.drainingServerOf(name) : undefined;
  if (server === undefined) return undefined;
  return new FleetError(
    'UPSTREAM_UNAVAILABLE',
    `server "${server}" is being removed (the gateway's config changed): it takes no new calls; calls in flight on it finish`,
    { data: { server } },
  );
}
