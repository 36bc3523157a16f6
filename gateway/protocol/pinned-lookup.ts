/**
 * A `lookup` for node:net connections that always answers one address: a connection to a URL's host
 * name goes to the replica DNS gave earlier, while the Host header and TLS server name stay the
 * name's (a replica that checks its Host, or a certificate for the service name, still matches).
 */
import { isIP, type LookupFunction } from 'node:net';

export function pinnedLookup(address: string): LookupFunction {
  const family = isIP(address);
  return (_hostname, options, callback) => {
    if ((options as { all?: boolean }).all)
      (callback as unknown as (err: null, all: { address: string; family: number }[]) => void)(null, [{ address, family }]);
    else callback(null, address, family);
  };
}
