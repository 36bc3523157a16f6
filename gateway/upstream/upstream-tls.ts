/**
 * Reads a remote server's `tls:` files into the options its transport connects with. Read at
 * every connection attempt, so a rotated CA or client certificate takes effect at the next
 * reconnect; a file that cannot be read fails that attempt with an error naming the field and file.
 */
import { readFile } from 'node:fs/promises';
import type { UpstreamTls } from '../config/schema';
import { FleetError } from '../protocol/errors';
import type { TlsClientOptions } from '../protocol/tls-client';

export async function readUpstreamTls(server: string, tls: UpstreamTls | undefined): Promise<TlsClientOptions | undefined> {
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
  return { ...(ca && { ca }), ...(cert && { cert }), ...(key && { key }), ...(tls.serverName && { servername: tls.serverName }) };
}
