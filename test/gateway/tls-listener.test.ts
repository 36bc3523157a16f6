/**
 * HTTPS and WSS on the gateway's listener, with real handshakes and certificates from
 * scripts/gen-test-certs.sh: the SDK client lists and calls tools over https (Streamable HTTP, legacy
 * SSE) and wss; a client that does not trust the CA fails the handshake; with client certificates
 * required, only a certificate of the configured CA gets through; the certificate is replaced
 * on disk while sessions stay open, and a bad replacement leaves the one in use.
 */
import { X509Certificate } from 'node:crypto';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { connectGateway } from '../../gateway/client/connect';
import { FleetError } from '../../gateway/protocol/errors';
import { clientTls, generateCerts, type CertDir } from '../helpers/certs';
import { connectClient, disconnect, newMarker, startTestGateway, type TestGateway } from '../helpers/gateway';
import { waitForNoProcesses } from '../helpers/processes';
import { everything } from '../helpers/servers';
import { waitFor } from '../helpers/wait';

jest.setTimeout(60_000);

const marker = newMarker();
let root: string;
let certs: CertDir;
let foreign: CertDir;
let ca: Buffer;
let gw: TestGateway;
let mtls: TestGateway;
const clients: Client[] = [];

/** The serial number of the certificate a new TLS connection to `url` is shown. */
function peerSerial(url: string, options: ConnectionOptions = {}): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host: hostname, port: Number(port), ca, servername: 'localhost', ...options }, () => {
      resolve(socket.getPeerX509Certificate()!.serialNumber);
      socket.end();
    });
    socket.once('error', reject);
  });
}

const fileSerial = (file: string) => new X509Certificate(readFileSync(file)).serialNumber;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'mcp-fleet-tls-'));
  certs = await generateCerts(join(root, 'ca'), { clients: ['alice=URI:spiffe://fleet/alice'] });
  foreign = await generateCerts(join(root, 'other-ca'), { clients: ['mallory'] });
  ca = readFileSync(certs.ca);
  gw = await startTestGateway({ tls: { certFile: certs.serverCert, keyFile: certs.serverKey }, servers: { ev: everything(marker) } }, marker);
  mtls = await startTestGateway(
    { tls: { certFile: certs.serverCert, keyFile: certs.serverKey, clientCaFile: certs.ca, clientCert: 'required' }, servers: { ev: everything(marker) } },
    marker,
  );
});

afterAll(async () => {
  for (const c of clients) await disconnect(c).catch(() => {});
  await gw?.stop();
  await mtls?.stop();
  rmSync(root, { recursive: true, force: true });
  expect(await waitForNoProcesses(marker)).toEqual([]);
});

describe('HTTPS and WSS', () => {
  it('reports an https URL', () => {
    expect(gw.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const line = gw.logs.find((l) => l.msg === 'gateway listening');
    expect(line).toMatchObject({ mcp: `${gw.url}/mcp`, ws: `${gw.url.replace('https', 'wss')}/ws` });
  });

  it.each(['streamable-http', 'sse', 'websocket'] as const)('an SDK client lists and calls tools over %s with TLS', async (front) => {
    const client = await connectClient(gw, front, { tls: { ca } });
    clients.push(client);
    expect((await client.listTools()).tools.map((t) => t.name)).toContain('ev__echo');
    expect(await client.callTool({ name: 'ev__echo', arguments: { message: `over ${front}` } })).toMatchObject({
      content: [{ type: 'text', text: `Echo: over ${front}` }],
    });
  });

  it('a client that does not trust the CA fails the handshake', async () => {
    const untrusted = /unable to verify the first certificate|self-signed certificate/;
    await expect(peerSerial(gw.url, { ca: readFileSync(foreign.ca) })).rejects.toThrow(untrusted);
    await expect(connectGateway(gw.url, 'websocket', { tls: { ca: readFileSync(foreign.ca) }, timeoutMs: 10_000 })).rejects.toThrow(untrusted);
    // the SDK's own transports, on node's public roots (its WebSocket error carries no message)
    await expect(connectGateway(gw.url, 'streamable-http', { timeoutMs: 10_000 })).rejects.toThrow(/fetch failed/);
    await expect(connectGateway(gw.url, 'websocket', { timeoutMs: 10_000 })).rejects.toBeDefined();
  });

  it('plain HTTP on the TLS port gets no answer from a front', async () => {
    await expect(fetch(`${gw.url.replace('https', 'http')}/health/liveness`)).rejects.toThrow();
    await waitFor(() => gw.logs.some((l) => l.msg === 'TLS handshake refused'), 'the refused handshake in the log');
  });
});

describe('client certificates (clientCert: required)', () => {
  it('refuses a client without a certificate', async () => {
    await expect(connectGateway(mtls.url, 'streamable-http', { tls: { ca }, timeoutMs: 10_000 })).rejects.toThrow();
    await expect(connectGateway(mtls.url, 'websocket', { tls: { ca }, timeoutMs: 10_000 })).rejects.toThrow();
  });

  it('refuses a certificate from another CA', async () => {
    const tls = { ca, ...clientTls(foreign, 'mallory') };
    await expect(connectGateway(mtls.url, 'streamable-http', { tls, timeoutMs: 10_000 })).rejects.toThrow();
    await waitFor(() => mtls.logs.some((l) => l.msg === 'TLS handshake refused'), 'the refused handshake in the log');
  });

  it.each(['streamable-http', 'websocket'] as const)('lets a certificate signed by the CA through (%s)', async (front) => {
    const connection = await connectGateway(mtls.url, front, { tls: { ca, ...clientTls(certs, 'alice') } });
    try {
      expect(await connection.client.callTool({ name: 'ev__echo', arguments: { message: 'mtls' } })).toMatchObject({ content: [{ text: 'Echo: mtls' }] });
    } finally {
      await connection.close();
    }
  });
});

describe('certificate rotation', () => {
  it('a new certificate on disk reaches new connections while open sessions keep working; a bad one is not taken', async () => {
    const ws = await connectClient(gw, 'websocket', { tls: { ca } });
    const http = await connectClient(gw, 'streamable-http', { tls: { ca } });
    clients.push(ws, http);
    const before = fileSerial(certs.serverCert);
    expect(await peerSerial(gw.url)).toBe(before);

    await generateCerts(certs.dir); // same CA, new key and certificate (another serial)
    const after = fileSerial(certs.serverCert);
    expect(after).not.toBe(before);
    await waitFor(() => gw.logs.some((l) => l.msg === 'TLS certificate reloaded' && l.serial === after), 'the reload of the new certificate');
    expect(await peerSerial(gw.url)).toBe(after);
    // the WebSocket session is the same connection as before the rotation; the HTTP session the same session
    for (const client of [ws, http])
      expect(await client.callTool({ name: 'ev__echo', arguments: { message: 'still here' } })).toMatchObject({ content: [{ text: 'Echo: still here' }] });

    // a certificate that is not the key's pair, then one that is not a certificate at all
    const seen = gw.logs.length;
    copyFileSync(certs.client('alice').cert, certs.serverCert);
    await waitFor(() => gw.logs.slice(seen).some((l) => l.msg === 'TLS files changed but cannot be used; keeping the certificate in use'), 'the refused pair');
    const refusal = gw.logs.slice(seen).find((l) => l.msg === 'TLS files changed but cannot be used; keeping the certificate in use');
    expect(String(refusal?.err)).toContain(certs.serverCert);
    expect(await peerSerial(gw.url)).toBe(after);
    const seen2 = gw.logs.length;
    writeFileSync(certs.serverCert, 'not a certificate\n');
    await waitFor(() => gw.logs.slice(seen2).some((l) => l.msg === 'TLS files changed but cannot be used; keeping the certificate in use'), 'the refused file');
    expect(await peerSerial(gw.url)).toBe(after);
    expect(await ws.callTool({ name: 'ev__echo', arguments: { message: 'and still' } })).toMatchObject({ content: [{ text: 'Echo: and still' }] });
  });
});

describe('refusals at startup', () => {
  it('a missing certificate file names the field and the file', async () => {
    const missing = join(root, 'nope.crt');
    const start = startTestGateway({ tls: { certFile: missing, keyFile: certs.serverKey }, servers: { ev: everything(marker) } }, marker);
    await expect(start).rejects.toThrow(FleetError);
    await expect(start).rejects.toThrow(`tls.certFile: cannot read ${missing}`);
  });

  it('a certificate and key that are not a pair name both files', async () => {
    const { cert } = foreign.client('mallory');
    await expect(startTestGateway({ tls: { certFile: cert, keyFile: certs.serverKey }, servers: { ev: everything(marker) } }, marker)).rejects.toThrow(
      `tls: the certificate ${cert}, key ${certs.serverKey} are not usable`,
    );
  });
});
