/** Test certificates from scripts/gen-test-certs.sh (openssl), in a directory the caller removes. */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { testSecret } from './secret-values';

export const GEN_CERTS = resolve(__dirname, '..', '..', 'scripts', 'gen-test-certs.sh');

export interface CertDir {
  dir: string;
  ca: string;
  serverCert: string;
  serverKey: string;
  /** client-NAME.crt and .key of a --client NAME. */
  client(name: string): { cert: string; key: string };
}

/**
 * Runs the script into `dir`: a CA (kept if `dir` has one, so a second call rotates the leaves),
 * a server certificate for localhost/127.0.0.1 and `servers`, and one client certificate per
 * `clients` entry (`NAME` or `NAME=SAN`), valid for `days` (the script's default: 365; the CA a
 * day longer). The private keys are registered as test secrets.
 */
export async function generateCerts(dir: string, options: { servers?: string[]; clients?: string[]; days?: number } = {}): Promise<CertDir> {
  const clientArgs = (options.clients ?? []).flatMap((c) => ['--client', c]);
  const dayArgs = options.days === undefined ? [] : ['--days', String(options.days)];
  await promisify(execFile)('bash', [GEN_CERTS, ...dayArgs, ...clientArgs, dir, ...(options.servers ?? [])]);
  const clientNames = (options.clients ?? []).map((c) => c.split('=')[0]);
  for (const key of ['ca.key', 'server.key', ...clientNames.map((n) => `client-${n}.key`)])
    testSecret(readFileSync(join(dir, key), 'utf8'), `TLS private key ${key}`);
  return {
    dir,
    ca: join(dir, 'ca.crt'),
    serverCert: join(dir, 'server.crt'),
    serverKey: join(dir, 'server.key'),
    client: (name) => ({ cert: join(dir, `client-${name}.crt`), key: join(dir, `client-${name}.key`) }),
  };
}

/** A client certificate and key as TLS options take them. */
export function clientTls(certs: CertDir, name: string): { cert: Buffer; key: Buffer } {
  const { cert, key } = certs.client(name);
  return { cert: readFileSync(cert), key: readFileSync(key) };
}
