/**
 * Reads a remote server's `tls:` files into the options its transport connects with. Read at
 * every connection attempt, so a rotated CA or client certificate takes effect at the next
 * reconnect; a file that cannot be read fails that attempt with an error naming the field and file.
 * `observe` is told of each attempt's certificates, so the certificate-expiry gauge shows those in use.
 */
import { readFile } from 'node:fs/promises';
import type { UpstreamTls } from '../config/schema';
import { FleetError } from '../protocol/errors';
import type { TlsClientOptions } from '../protocol/tls-client';

/** The CA bundle and client certificate a connection attempt of `server` was made with. */
export type UpstreamTlsObserver = (server: string, certificates: { ca?: Buffer; cert?: Buffer }) => void;

export async function readUpstreamTls(server: string, tls: UpstreamTls | undefined, observe?: UpstreamTlsObserver): Promise<TlsClientOptions | undefined> {
  if (!tls) return undefined;
  const read = async (field: 'caFile' | 'certFile' | 'keyFile'): Promise<Buffer | undefined> => {
    const file = tls[field];
    if (file === undefined) return undefined;
    try {
      return await readFile(file);
    } catch (err) {
      throw new FleetError('UPSTREAM_UNAVAILABLE', `servers.${server}.tls.${field}: cannot read ${file}: ${(err as Error).message}`, { cause: err });
    }
  };
  const [ca, cert, key] = await Promise.all([read('caFile'), read('certFile'), read('keyFile')]);
  observe?.(server, { ca, cert });
  return { ...(ca && { ca }), ...(cert && { cert }), ...(key && { key }), ...(tls.serverName && { servername: tls.serverName }) };
}
