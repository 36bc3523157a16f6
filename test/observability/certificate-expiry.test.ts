/**
 * mcp_gateway_tls_certificate_expiry_timestamp_seconds with real certificates (scripts/gen-test-certs.sh)
 * on real gateways: one serving HTTPS with a client CA bundle on its public listener and another
 * certificate on its management listener, and one in front of it reaching it with a CA and a client
 * certificate. Each series equals the notAfter of its certificate as X509Certificate reads it (a
 * bundle: its earliest); a rotation on disk moves the gauge once the listener takes it, a bad one
 * leaves it; a removed remote server's series go. A file that holds no certificate counts as none.
 */
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { earliestExpiry } from '../../gateway/metrics/cert-expiry';
import { admin, startAdminGateway } from '../helpers/admin';
import { generateCerts, type CertDir } from '../helpers/certs';
import { newMarker, startTestGateway, type TestGateway } from '../helpers/gateway';
import { parseMetrics, sampleValue, scrapeMetrics, type Sample } from '../helpers/metrics';
import { waitForNoProcesses } from '../helpers/processes';
import { everything } from '../helpers/servers';
import { waitFor } from '../helpers/wait';

jest.setTimeout(90_000);

const GAUGE = 'mcp_gateway_tls_certificate_expiry_timestamp_seconds';
const marker = newMarker();
let root: string;
let pub: CertDir;
let mgmt: CertDir;
let bundle: string;
let inner: TestGateway;
let outer: TestGateway;

/** The notAfter of the (first) certificate in `file`, in Unix seconds. */
const notAfter = (file: string) => new X509Certificate(readFileSync(file)).validToDate.getTime() / 1000;

/** The inner gateway's /metrics, on its HTTPS management listener. */
const innerMetrics = () =>
  new Promise<Sample[]>((resolve, reject) => {
    const req = httpsRequest(`${inner.managementUrl}/metrics`, { ca: readFileSync(mgmt.ca), servername: 'localhost' }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => (res.statusCode === 200 ? resolve(parseMetrics(text)) : reject(new Error(`/metrics answered ${res.statusCode}`))));
    });
    req.once('error', reject).end();
  });

const series = (samples: Sample[]) => Object.fromEntries(samples.filter((s) => s.name === GAUGE).map((s) => [`${s.labels.role}/${s.labels.name}`, s.value]));

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'mcp-fleet-cert-expiry-'));
  // validity periods apart, so that a series showing another certificate's expiry cannot pass
  pub = await generateCerts(join(root, 'public'), { days: 30, clients: ['outer'] });
  mgmt = await generateCerts(join(root, 'management'), { days: 10 });
  // the client CA file is a bundle of both CAs: it counts as the earlier one, the management CA (11 days)
  bundle = join(root, 'client-cas.crt');
  writeFileSync(bundle, readFileSync(pub.ca, 'utf8') + readFileSync(mgmt.ca, 'utf8'));
  inner = await startTestGateway(
    {
      tls: { certFile: pub.serverCert, keyFile: pub.serverKey, clientCaFile: bundle },
      management: { listen: '127.0.0.1:0', tls: { certFile: mgmt.serverCert, keyFile: mgmt.serverKey } },
      servers: { ev: everything(marker) },
    },
    marker,
  );
  const { cert, key } = pub.client('outer');
  outer = await startAdminGateway(marker, { inner: { url: `${inner.url}/mcp`, tls: { caFile: pub.ca, certFile: cert, keyFile: key } } });
});

afterAll(async () => {
  await outer?.stop();
  await inner?.stop();
  rmSync(root, { recursive: true, force: true });
  expect(await waitForNoProcesses(marker)).toEqual([]);
});

it("shows each listener's certificate and client CA at its notAfter, a bundle at its earliest", async () => {
  expect(notAfter(mgmt.ca)).toBeLessThan(notAfter(pub.ca));
  expect(series(await innerMetrics())).toEqual({
    'server/public': notAfter(pub.serverCert),
    'client_ca/public': notAfter(mgmt.ca),
    'server/management': notAfter(mgmt.serverCert),
  });
  // 30 and 10 days from now, as the certificates were made
  const now = Date.now() / 1000;
  expect(Math.round((notAfter(pub.serverCert) - now) / 86_400)).toBe(30);
  expect(Math.round((notAfter(mgmt.serverCert) - now) / 86_400)).toBe(10);
});

it('shows the CA and client certificate a remote server is reached with, and drops them when the server goes', async () => {
  expect(outer.registry.groupFor(undefined, 'inner')?.state).toBe('ready');
  expect(series(await scrapeMetrics(outer))).toEqual({
    'upstream_ca/inner': notAfter(pub.ca),
    'upstream_client/inner': notAfter(pub.client('outer').cert),
  });
  expect((await admin(outer, 'DELETE', '/admin/servers/inner')).status).toBe(204);
  expect(series(await scrapeMetrics(outer))).toEqual({});
});

it('follows a rotation on disk once the listener takes it, and keeps the one in use when the new files are bad', async () => {
  const before = notAfter(pub.serverCert);
  await generateCerts(pub.dir, { days: 3 }); // same CA, new leaves valid for 3 days
  const after = notAfter(pub.serverCert);
  expect(after).toBeLessThan(before);
  await waitFor(async () => sampleValue(await innerMetrics(), GAUGE, { role: 'server', name: 'public' }) === after, 'the gauge to show the new certificate');
  expect(series(await innerMetrics())).toMatchObject({ 'server/public': after, 'client_ca/public': notAfter(mgmt.ca) });

  const seen = inner.logs.length;
  writeFileSync(pub.serverCert, 'not a certificate\n');
  await waitFor(
    () => inner.logs.slice(seen).some((l) => l.msg === 'TLS files changed but cannot be used; keeping the certificate in use'),
    'the refused replacement',
  );
  expect(sampleValue(await innerMetrics(), GAUGE, { role: 'server', name: 'public' })).toBe(after);
});

it('reads a chain as its earliest certificate, skips a block that is not one, and finds none in a file without any', () => {
  const leaf = readFileSync(pub.client('outer').cert, 'utf8');
  const ca = readFileSync(pub.ca, 'utf8');
  expect(earliestExpiry(ca + leaf)).toBe(notAfter(pub.client('outer').cert));
  const broken = '-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n';
  expect(earliestExpiry(broken + ca)).toBe(notAfter(pub.ca));
  expect(earliestExpiry(broken)).toBeUndefined();
  expect(earliestExpiry('not a certificate\n')).toBeUndefined();
  expect(earliestExpiry(readFileSync(pub.serverKey))).toBeUndefined();
});
