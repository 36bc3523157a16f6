/**
 * clientCertificateIdentity on real TLS sockets: a listener that asks for client certificates
 * (optional, so that unverified ones reach it too) and clients with certificates from the
 * configured CA, from another CA, and none.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, createServer as createTlsServer, type TLSSocket } from 'node:tls';
import { X509Certificate } from 'node:crypto';
import { readTlsMaterial, tlsServerOptions } from '../fronts/tls-listener';
import { clientTls, generateCerts, type CertDir } from '../../test/helpers/certs';
import { clientCertificateIdentity, type ClientCertificateIdentity } from './client-cert';

let root: string;
let certs: CertDir;
let foreign: CertDir;
let server: Server;
let port: number;
let seen: Promise<ClientCertificateIdentity | undefined>;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'mcp-fleet-client-cert-'));
  certs = await generateCerts(join(root, 'ca'), { clients: ['alice=URI:spiffe://fleet/alice,email:alice@example.org,DNS:alice.fleet', 'bare'] });
  foreign = await generateCerts(join(root, 'other'), { clients: ['alice=URI:spiffe://fleet/alice'] });
  const tls = { certFile: certs.serverCert, keyFile: certs.serverKey, clientCaFile: certs.ca, clientCert: 'optional' as const };
  server = createTlsServer(tlsServerOptions(tls, await readTlsMaterial(tls)));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as { port: number }).port;
});

afterAll(async () => {
  await new Promise((r) => server?.close(r));
  rmSync(root, { recursive: true, force: true });
});

/** Connects with `cert` (or none) and returns what the server side made of the socket. */
async function identityOf(cert: { cert: Buffer; key: Buffer } | undefined): Promise<ClientCertificateIdentity | undefined> {
  seen = new Promise((resolve) => server.once('secureConnection', (socket: TLSSocket) => resolve(clientCertificateIdentity(socket))));
  const socket = connect({ port, host: '127.0.0.1', servername: 'localhost', ca: readFileSync(certs.ca), ...cert });
  await new Promise<void>((resolve, reject) => socket.once('secureConnect', resolve).once('error', reject));
  const identity = await seen;
  socket.destroy();
  return identity;
}

it('gives the subject, the SANs and the fingerprint of a verified certificate', async () => {
  const alice = clientTls(certs, 'alice');
  expect(await identityOf(alice)).toEqual({
    subject: 'CN=alice',
    sans: ['URI:spiffe://fleet/alice', 'email:alice@example.org', 'DNS:alice.fleet'],
    fingerprint256: new X509Certificate(alice.cert).fingerprint256,
  });
  expect(await identityOf(clientTls(certs, 'bare'))).toMatchObject({ subject: 'CN=bare', sans: [] });
});

it('gives nothing for a certificate of another CA, for no certificate, and for a plain TCP socket', async () => {
  expect(await identityOf(clientTls(foreign, 'alice'))).toBeUndefined();
  expect(await identityOf(undefined)).toBeUndefined();
  const plain = createServer();
  const accepted = new Promise<ClientCertificateIdentity | undefined>((resolve) =>
    plain.once('connection', (s) => (resolve(clientCertificateIdentity(s)), s.destroy())),
  );
  await new Promise<void>((r) => plain.listen(0, '127.0.0.1', r));
  const socket = connect({ port: (plain.address() as { port: number }).port, host: '127.0.0.1' }).on('error', () => {});
  expect(await accepted).toBeUndefined();
  socket.destroy();
  await new Promise((r) => plain.close(r));
});
