/**
 * scripts/gen-test-certs.sh with the real openssl: what the certificates say (SANs, key usage,
 * issuer), that a second run keeps the CA and rotates the leaves, and its refusals of bad input.
 */
import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { GEN_CERTS, generateCerts } from '../helpers/certs';

const root = mkdtempSync(join(tmpdir(), 'mcp-fleet-gen-certs-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const cert = (file: string) => new X509Certificate(readFileSync(file));

it('makes a CA, a server certificate for loopback and the names given, and client certificates with their CN and SAN', async () => {
  const certs = await generateCerts(join(root, 'a'), { servers: ['memory', '10.1.2.3'], clients: ['alice=URI:spiffe://fleet/alice', 'bob'] });
  const ca = cert(certs.ca);
  const server = cert(certs.serverCert);
  expect(ca.ca).toBe(true);
  expect(server.ca).toBe(false);
  expect(server.verify(ca.publicKey)).toBe(true);
  expect(server.subjectAltName).toBe('DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1, DNS:memory, IP Address:10.1.2.3');
  expect(server.keyUsage).toEqual(['1.3.6.1.5.5.7.3.1']); // serverAuth
  const alice = cert(certs.client('alice').cert);
  expect(alice.subject).toBe('CN=alice');
  expect(alice.subjectAltName).toBe('URI:spiffe://fleet/alice');
  expect(alice.keyUsage).toEqual(['1.3.6.1.5.5.7.3.2']); // clientAuth
  expect(alice.verify(ca.publicKey)).toBe(true);
  expect(cert(certs.client('bob').cert).subjectAltName).toBeUndefined();
  expect(statSync(certs.serverKey).mode & 0o777).toBe(0o600);
});

it('keeps the CA of a directory that has one, and gives the leaves new keys and serials', async () => {
  const dir = join(root, 'b');
  const first = await generateCerts(dir);
  const [ca, serial] = [readFileSync(first.ca, 'utf8'), cert(first.serverCert).serialNumber];
  await generateCerts(dir);
  expect(readFileSync(first.ca, 'utf8')).toBe(ca);
  expect(cert(first.serverCert).serialNumber).not.toBe(serial);
  expect(cert(first.serverCert).verify(cert(first.ca).publicKey)).toBe(true);
});

it.each([
  [['--days', 'ten', join(root, 'c')], '--days takes a whole number (got ten)'],
  [['--client', 'a b', join(root, 'c')], '--client name must be of A-Z a-z 0-9 _ . @ - (got a b)'],
  [['--colour', join(root, 'c')], 'unknown option --colour'],
  [[], 'scripts/gen-test-certs.sh [--days N]'],
])('refuses %j: %s', async (args, message) => {
  const run = promisify(execFile)('bash', [GEN_CERTS, ...args]);
  await expect(run).rejects.toMatchObject({ code: 2, stderr: expect.stringContaining(message) });
  expect(existsSync(join(root, 'c'))).toBe(false); // nothing written
});
