/**
 * What the picked server's era needs of a forwarded request. A 2026-07-28 server keeps no session,
 * so the request carries its client in the envelope: the capabilities and client info that client
 * declared (a 2025 client at initialize, a modern one in its own request) and its log level, if it
 * asked for one; a tool call mirrors the tool's x-mcp-header arguments into Mcp-Param-* headers,
 * which the server checks (over Streamable HTTP). (No upstream gets the envelope a modern client
 * sent: the send stage leaves it out.)
 */
import { META } from '../../protocol/eras';
import { mirroredHeaders } from '../../protocol/mirrored-headers';
import type { ClientDirectory } from '../clients';
import { required, type Stage } from '../context';
import type { RoutingDeps } from './resolve';

export function upstreamEraStage(clients: ClientDirectory, routing: Pick<RoutingDeps, 'view'>): Stage {
  return (call, next) => {
    const conn = required(call.backend, 'the backend').connection;
    if (conn?.era === 'modern') {
      call.meta[META.clientCapabilities] = call.client.capabilities;
      call.meta[META.clientInfo] = call.client.clientInfo;
      const level = clients.get(call.client.id)?.logLevel;
      if (level !== undefined) call.meta[META.logLevel] = level;
      if (call.request.method === 'tools/call') {
        const mirrored = routing.view(call.client).toolRoutes.get(String(call.request.params?.name))?.mirrored;
        const headers = mirrored && mirroredHeaders(mirrored, call.params.arguments);
        if (headers && Object.keys(headers).length > 0) call.upstreamHeaders = { ...call.upstreamHeaders, ...headers };
      }
    }
    return next(call);
  };
}
