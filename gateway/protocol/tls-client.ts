/**
 * What a TLS client needs besides the URL: the CA bundle that verifies the server, a client
 * certificate, the name the server's certificate must carry. The shape of node's own
 * tls.connect options, so node:https agents and `ws` take it as it is.
 */
import type { ConnectionOptions } from 'node:tls';

export type TlsClientOptions = Pick<ConnectionOptions, 'ca' | 'cert' | 'key' | 'servername'>;
