/**
 * What the picked server's era needs of a forwarded request. A 2026-07-28 server keeps no session,
 * so the request carries its client in the envelope: the capabilities and client info that client
 * declared (a 2025 client at initialize, a modern one in its own request) and its log level, if it
 * asked for one. A 2025 server gets none of the `_meta` keys that describe the previous hop.
 */
import { META, withoutReservedMeta } from '../../protocol/eras';
import { asObject } from '../../protocol/objects';
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
    } else {
      const meta = asObject(call.params._meta);
      const kept = withoutReservedMeta(meta);
      if (kept !== meta) call.params = { ...call.params, _meta: kept };
    }
    return next(call);
  };
}
