/**
 * A 2026-07-28 tools/call over Streamable HTTP mirrors the tool's x-mcp-header parameters into
 * Mcp-Param-* headers. Whatever routes or limits by those headers (a load balancer in front, the
 * gateway's own policy later) trusts them, so a header that contradicts the body is refused before
 * the call goes anywhere: the spec's HeaderMismatch, HTTP 400.
 */
import { checkMirrored } from '../../protocol/mirrored-headers';
import type { Stage } from '../context';
import type { RoutingDeps } from './resolve';

export function mirroredHeaderStage(deps: Pick<RoutingDeps, 'view'>): Stage {
  return (call, next) => {
    if (call.headers && call.request.method === 'tools/call') {
      const mirrored = deps.view(call.client).toolRoutes.get(String(call.params.name))?.mirrored;
      if (mirrored) checkMirrored(mirrored, call.params.arguments, call.headers);
    }
    return next(call);
  };
}
