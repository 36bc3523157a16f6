/**
 * What the picked server's era needs of a forwarded request. A 2026-07-28 server keeps no session,
 * so the request carries its client in the envelope: the capabilities and client info that client
 * declared (a 2025 client at initialize, a modern one in its own request) and its log level, if it
 * asked for one. (No upstream gets the envelope a modern client sent: the send stage leaves it out.)
 */
import { META } from '../../protocol/eras';
import type { ClientDirectory } from '../clients';
import { required, type Stage } from '../context';

export function upstreamEraStage(clients: ClientDirectory): Stage {
  return (call, next) => {
    const conn = required(call.backend, 'the backend').connection;
    if (conn?.era === 'modern') {
      call.meta[META.clientCapabilities] = call.client.capabilities;
      call.meta[META.clientInfo] = call.client.clientInfo;
      const level = clients.get(call.client.id)?.logLevel;
      if (level !== undefined) call.meta[META.logLevel] = level;
    }
    return next(call);
  };
}
