/**
 * TLS on the gateway's listeners (the public one and the management one): makes the HTTP or HTTPS
 * server, reads the certificate, key and client CA named by `tls:`, and reloads them when they
 * change on disk, without dropping a connection (open ones keep the
 * context they started with; new handshakes get the new one). A bad replacement is logged and the
 * certificate in use is kept, so a half-finished rotation never takes the listener down.
 */
import { createHash, X509Certificate } from 'node:crypto';
import { watch, type FSWatcher } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer, type RequestListener, type Server, type ServerOptions as HttpServerOptions } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer, type ServerOptions } from 'node:https';
import { dirname } from 'node:path';
import { createSecureContext, type SecureContextOptions } from 'node:tls';
import type { Logger } from 'pino';
import type { ListenerTls } from '../config/schema';
import { FleetError } from '../protocol/errors';

/** The files' contents, as the listener's secure context takes them. */
export interface TlsMaterial {
  cert: Buffer;
  key: Buffer;
  ca?: Buffer;
}

/** How long the watcher waits after the last change before it reads the files (a rotation writes several). */
const RELOAD_DEBOUNCE_MS = 200;

/**
 * Reads and checks `tls`'s files: each must be readable, and the certificate and key must make a
 * pair. Throws a CONFIG_INVALID FleetError naming the field (under `field`: `tls`, `management.tls`)
 * and the file otherwise.
 */
export async function readTlsMaterial(tls: ListenerTls, field = 'tls'): Promise<TlsMaterial> {
  const read = async (name: 'certFile' | 'keyFile' | 'clientCaFile', file: string): Promise<Buffer> => {
    try {
      return await readFile(file);
    } catch (err) {
      throw new FleetError('CONFIG_INVALID', `${field}.${name}: cannot read ${file}: ${(err as Error).message}`, { cause: err });
    }
  };
  const [cert, key, ca] = await Promise.all([
    read('certFile', tls.certFile),
    read('keyFile', tls.keyFile),
    tls.clientCaFile === undefined ? undefined : read('clientCaFile', tls.clientCaFile),
  ]);
  const material = { cert, key, ...(ca && { ca }) };
  try {
    createSecureContext(material);
  } catch (err) {
    throw new FleetError(
      'CONFIG_INVALID',
      `${field}: the certificate ${tls.certFile}, key ${tls.keyFile}${ca ? ` and client CA ${tls.clientCaFile}` : ''} are not usable: ${(err as Error).message}`,
      {
        cause: err,
      },
    );
  }
  return material;
}

/** The options of `https.createServer` for `tls` with its files' contents. */
export function tlsServerOptions(tls: ListenerTls, material: TlsMaterial): ServerOptions {
  const asking = tls.clientCert !== 'none';
  return { ...material, requestCert: asking, rejectUnauthorized: tls.clientCert === 'required' };
}

/** A listener's TLS settings with its files' contents as read at startup. */
export interface ListenerTlsSetup {
  settings: ListenerTls;
  material: TlsMaterial;
  /** Told of the material in use: at once, then after each reload that took (the certificate-expiry gauge). */
  loaded?: (material: TlsMaterial) => void;
}

/**
 * An HTTP server, or an HTTPS one with `tls` (refused handshakes logged, none reaches a handler).
 * `bind` listens and then watches the TLS files; `close` of its result stops the watching.
 */
export function createListener(
  handler: RequestListener,
  options: { timeouts: HttpServerOptions; tls?: ListenerTlsSetup },
  log: Logger,
): { server: Server; bind: (host: string, port: number) => Promise<{ host: string; port: number; reloader?: TlsReloader }> } {
  const { tls, timeouts } = options;
  let secure: HttpsServer | undefined;
  let server: Server;
  if (tls) {
    secure = createHttpsServer({ ...tlsServerOptions(tls.settings, tls.material), ...timeouts }, handler);
    tls.loaded?.(tls.material);
    // a handshake refused (no client certificate, an unknown CA, plain HTTP on the TLS port) reaches no handler
    secure.on('tlsClientError', (err: NodeJS.ErrnoException, socket) => {
      log.info({ code: err.code, err: err.message, peer: socket.remoteAddress }, 'TLS handshake refused');
    });
    server = secure;
  } else {
    server = createServer(timeouts, handler);
  }
  const bind = (host: string, port: number) =>
    new Promise<{ host: string; port: number; reloader?: TlsReloader }>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        const addr = server.address();
        if (addr === null || typeof addr === 'string') return reject(new Error('listener has no TCP address'));
        const reloader = tls && secure ? new TlsReloader(secure, tls, log) : undefined;
        resolve({ host: addr.address, port: addr.port, ...(reloader && { reloader }) });
      });
    });
  return { server, bind };
}

/** A server whose certificate can be replaced for new connections (node's tls.Server and https.Server). */
export interface SecureContextTarget {
  setSecureContext(options: SecureContextOptions): void;
}

/**
 * Watches the directories of `tls`'s files (a rotation often replaces a file, or a symlink to a
 * directory as Kubernetes does, which a watch on the file itself would miss) and, once changes
 * settle, puts the files' new contents into the server's secure context if they differ from
 * what it has (and tells `setup.loaded`). close() stops watching.
 */
export class TlsReloader {
  private readonly watchers: FSWatcher[] = [];
  private timer: NodeJS.Timeout | undefined;
  private checking: Promise<void> = Promise.resolve();
  private loaded: string;
  private closed = false;
  private readonly tls: ListenerTls;

  constructor(
    private readonly server: SecureContextTarget,
    private readonly setup: ListenerTlsSetup,
    private readonly log: Logger,
  ) {
    const tls = (this.tls = setup.settings);
    this.loaded = digest(setup.material);
    const files = [tls.certFile, tls.keyFile, ...(tls.clientCaFile === undefined ? [] : [tls.clientCaFile])];
    for (const dir of new Set(files.map((f) => dirname(f)))) {
      const watcher = watch(dir, { persistent: false }, () => this.schedule());
      watcher.on('error', (err) => this.log.warn({ dir, err: err.message }, 'cannot watch the TLS files; certificate changes are not picked up'));
      this.watchers.push(watcher);
    }
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    for (const w of this.watchers) w.close();
  }

  private schedule(): void {
    if (this.closed) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => (this.checking = this.checking.then(() => this.reload())), RELOAD_DEBOUNCE_MS);
    this.timer.unref();
  }

  private async reload(): Promise<void> {
    if (this.closed) return;
    let material: TlsMaterial;
    try {
      material = await readTlsMaterial(this.tls);
    } catch (err) {
      this.log.error({ err: (err as Error).message }, 'TLS files changed but cannot be used; keeping the certificate in use');
      return;
    }
    const next = digest(material);
    if (next === this.loaded || this.closed) return;
    this.server.setSecureContext(material);
    this.loaded = next;
    this.setup.loaded?.(material);
    const cert = new X509Certificate(material.cert);
    this.log.info({ certFile: this.tls.certFile, serial: cert.serialNumber, validTo: cert.validTo }, 'TLS certificate reloaded');
  }
}

function digest(material: TlsMaterial): string {
  const hash = createHash('sha256');
  for (const part of [material.cert, material.key, material.ca ?? Buffer.alloc(0)]) hash.update(createHash('sha256').update(part).digest());
  return hash.digest('hex');
}
