/**
 * Routing: finds the server that owns what a call names (a tool, prompt or resource) in the
 * client's merged view, maps the exposed name back to the server's own, and finds that server's
 * live group for this client. An unknown name is the client's error, named in the answer.
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
}

export function resolveStage(targetOf: TargetOf, deps: RoutingDeps): Stage {
  return (call, next) => {
    const target = targetOf(call.params, deps.view(call.client), call.request.method);
    const group = deps.group(call.client, target.server);
    if (!group) throw new FleetError('UPSTREAM_UNAVAILABLE', `server "${target.server}" was just removed`, { data: { server: target.server } });
    call.group = group;
    call.want = target.want;
    call.params = target.params;
    return next(call);
  };
}
