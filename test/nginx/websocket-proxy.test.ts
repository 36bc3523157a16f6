/**
 * nginx/websocket.conf with the real nginx from Debian in front of a real gateway: `nginx -t`
 * accepts the file as shipped, and SDK clients reach the gateway through nginx over Streamable
 * HTTP (https), legacy SSE (https) and WebSocket (wss), with TLS ended at nginx. Progress reaches
 * the client while the call still runs: SSE is not buffered (legacy SSE streams carry no
 * X-Accel-Buffering header, so with proxy_buffering on they would not even open). Paths nginx does
 * not proxy (the admin API, /metrics) get 404.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectGateway, type GatewayConnection } from '../../gateway/client/connect';
import { tlsFetch, type TlsFetch } from '../../gateway/upstream/tls-fetch';
import { generateCerts, type CertDir } from '../helpers/certs';
import { newMarker, startTestGateway, type TestGateway } from '../helpers/gateway';
import { ensureNginx, nginxPrefix, nginxTest, startNginx, WEBSOCKET_CONF, type Nginx } from '../helpers/nginx';
import { waitForNoProcesses } from '../helpers/processes';
import { everything } from '../helpers/servers';
import { testSecret } from '../helpers/secret-values';

jest.setTimeout(120_000);

const marker = newMarker();
let root: string;
let certs: CertDir;
let gw: TestGateway;
let nginx: Nginx;
let https: TlsFetch;
let ca: Buffer;

beforeAll(async () => {
  ensureNginx();
  root = mkdtempSync(join(tmpdir(), 'mcp-fleet-nginx-certs-'));
  certs = await generateCerts(root);
  ca = readFileSync(certs.ca);
  https = tlsFetch({ ca });
  gw = await startTestGateway({ admin: { token: testSecret('a-long-enough-admin-token-for-tests') }, servers: { ev: everything(marker) } }, marker);
  nginx = await startNginx(Number(new URL(gw.url).port), certs);
});

afterAll(async () => {
  https?.close();
  await nginx?.stop();
  await gw?.stop();
  rmSync(root, { recursive: true, force: true });
  expect(await waitForNoProcesses(marker)).toEqual([]);
});

it('nginx -t accepts the file as shipped (certificates where it says)', async () => {
  const prefix = nginxPrefix(readFileSync(WEBSOCKET_CONF, 'utf8'), certs);
  try {
    expect(await nginxTest(prefix)).toContain('test is successful');
  } finally {
    rmSync(prefix, { recursive: true, force: true });
  }
});

it.each(['streamable-http', 'sse', 'websocket'] as const)('an SDK client calls a tool through nginx over %s with TLS', async (front) => {
  const connection = await connectGateway(nginx.url, front, { tls: { ca } });
  try {
    expect((await connection.client.listTools()).tools.map((t) => t.name)).toContain('ev__echo');
    for (let i = 0; i < 3; i++) {
      expect(await connection.client.callTool({ name: 'ev__echo', arguments: { message: `${front} ${i}` } })).toMatchObject({
        content: [{ type: 'text', text: `Echo: ${front} ${i}` }],
      });
    }
  } finally {
    await connection.close();
  }
});

it.each(['streamable-http', 'sse'] as const)('progress arrives over %s while the call still runs (no buffering)', async (front) => {
  const connection: GatewayConnection = await connectGateway(nginx.url, front, { tls: { ca } });
  try {
    const inFlightAtProgress: number[] = [];
    const result = await connection.client.callTool({ name: 'ev__trigger-long-running-operation', arguments: { duration: 2, steps: 4 } }, undefined, {
      onprogress: () => inFlightAtProgress.push(gw.sessions.inFlightCount),
    });
    expect(JSON.stringify(result.content)).toContain('Long running operation completed');
    expect(inFlightAtProgress.length).toBeGreaterThanOrEqual(3);
    // buffered, every progress line would reach the client only with the result, after the gateway finished the call
    expect(inFlightAtProgress.slice(0, 3)).toEqual([1, 1, 1]);
  } finally {
    await connection.close();
  }
});

it('answers the health probes and refuses what it does not proxy', async () => {
  const readiness = await https.fetch(`${nginx.url}/health/readiness`);
  expect(readiness.status).toBe(200);
  await readiness.body?.cancel();
  for (const path of ['/admin/servers', '/metrics', '/']) {
    const res = await https.fetch(`${nginx.url}${path}`, { headers: { authorization: 'Bearer a-long-enough-admin-token-for-tests' } });
    expect([path, res.status]).toEqual([path, 404]);
    await res.body?.cancel();
  }
  // the gateway itself still serves them, on its own address
  const direct = await fetch(`${gw.url}/metrics`);
  expect(direct.status).toBe(200);
  await direct.body?.cancel();
});

it('refuses plain HTTP on its TLS port, and a client that does not trust the CA', async () => {
  const plain = await fetch(`${nginx.url.replace('https', 'http')}/mcp`);
  expect(plain.status).toBe(400); // nginx: "The plain HTTP request was sent to HTTPS port"
  await plain.body?.cancel();
  await expect(connectGateway(nginx.url, 'websocket', { tls: { ca: readFileSync(join(root, 'server.crt')) }, timeoutMs: 10_000 })).rejects.toThrow(
    /unable to verify|self-signed|unable to get issuer certificate/,
  );
});
