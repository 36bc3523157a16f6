/**
 * The management listener (`management:`, issue 10 "Admin, metrics and debug endpoints can be
 * bound to a separate listener"): the admin API and /metrics answer there and 404 on the public
 * port, which keeps serving MCP (the SDK client) and the health probes, as does the management one;
 * with the admin API on, /metrics there needs the admin token; TLS with required client
 * certificates refuses a handshake without one; bad management settings name the field.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../../gateway/config/load';
import { startGateway } from '../../gateway/gateway';
import { createLogger } from '../../gateway/log';
import { FleetError } from '../../gateway/protocol/errors';
import { ADMIN_TOKEN, TEST_REGISTER } from '../helpers/admin';
import { clientTls, generateCerts, type CertDir } from '../helpers/certs';
import { connectClient, disconnect, newMarker, startTestGateway, type TestGateway } from '../helpers/gateway';
import { lineSink } from '../helpers/log-lines';
import { waitForNoProcesses } from '../helpers/processes';
import { scripted } from '../helpers/scripted';

jest.setTimeout(60_000);

const marker = newMarker();
const auth = { authorization: `Bearer ${ADMIN_TOKEN}` };
/** Start options for gateways that are expected not to start: their logs are not looked at. */
const QUIET = {
  log: createLogger(
    'silent',
    lineSink(() => {}),
  ),
};

async function get(url: string, headers: Record<string, string> = {}): Promise<{ status: number; text: string; headers: Headers }> {
  const res = await fetch(url, { headers });
  return { status: res.status, text: await res.text(), headers: res.headers };
}

describe('a gateway with a management listener', () => {
  let gw: TestGateway;

  beforeAll(async () => {
    gw = await startTestGateway(
      { management: { listen: '127.0.0.1:0' }, admin: { token: ADMIN_TOKEN, register: TEST_REGISTER }, servers: { s: scripted(marker, ['--tools', 'echo']) } },
      marker,
    );
  });

  afterAll(async () => {
    await gw?.stop();
    expect(await waitForNoProcesses(marker)).toEqual([]);
  });

  it('serves MCP and the health probes on the public port, and neither /metrics nor /admin there', async () => {
    const client = await connectClient(gw, 'streamable-http');
    expect(await client.callTool({ name: 's__echo', arguments: {} })).toMatchObject({ content: [{ text: 'scripted:echo' }] });
    await disconnect(client);
    expect((await get(`${gw.url}/health/liveness`)).status).toBe(200);
    expect((await get(`${gw.url}/health/readiness`)).status).toBe(200);
    for (const path of ['/metrics', '/admin/servers', '/admin']) expect([path, (await get(`${gw.url}${path}`, auth)).status]).toEqual([path, 404]);
  });

  it('serves the admin API, /metrics (with the admin token) and health on the management listener, and nothing of MCP', async () => {
    const mgmt = gw.managementUrl!;
    expect(mgmt).not.toBe(gw.url);
    expect(gw.logs.find((l) => l.msg === 'gateway listening')).toMatchObject({ management: mgmt, metrics: `${mgmt}/metrics`, admin: `${mgmt}/admin` });
    const servers = await get(`${mgmt}/admin/servers`, auth);
    expect(servers.status).toBe(200);
    expect(JSON.parse(servers.text).servers.map((s: { name: string }) => s.name)).toEqual(['s']);
    const metrics = await get(`${mgmt}/metrics`, auth);
    expect(metrics.status).toBe(200);
    expect(metrics.text).toContain('mcp_gateway_upstream_up');
    expect((await get(`${mgmt}/health/readiness`)).status).toBe(200);
    expect((await get(`${mgmt}/mcp`)).status).toBe(404);
  });

  it('refuses /metrics and /admin on the management listener without the admin token', async () => {
    const mgmt = gw.managementUrl!;
    const metrics = await get(`${mgmt}/metrics`);
    expect(metrics).toMatchObject({ status: 401, text: expect.stringContaining('Authorization: Bearer') });
    expect(metrics.headers.get('www-authenticate')).toBe('Bearer');
    expect((await get(`${mgmt}/metrics`, { authorization: 'Bearer wrong-token-of-the-right-sort-0123456789' })).status).toBe(401);
    expect((await get(`${mgmt}/admin/servers`)).status).toBe(401);
  });
});

describe('a management listener with client certificates required', () => {
  let root: string;
  let certs: CertDir;
  let foreign: CertDir;
  let gw: TestGateway;

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'mcp-fleet-mgmt-'));
    certs = await generateCerts(join(root, 'ca'), { clients: ['prometheus'] });
    foreign = await generateCerts(join(root, 'other'), { clients: ['mallory'] });
    const tls = { certFile: certs.serverCert, keyFile: certs.serverKey, clientCaFile: certs.ca };
    // no admin section: /metrics is open to whoever passes the handshake
    gw = await startTestGateway({ management: { listen: '127.0.0.1:0', tls }, servers: { s: scripted(marker, ['--tools', 'echo']) } }, marker);
  });

  afterAll(async () => {
    await gw?.stop();
    rmSync(root, { recursive: true, force: true });
    expect(await waitForNoProcesses(marker)).toEqual([]);
  });

  const tlsGet = (path: string, client?: { cert: Buffer; key: Buffer }) =>
    new Promise<number>((resolve, reject) => {
      const req = httpsRequest(`${gw.managementUrl}${path}`, { ca: readFileSync(certs.ca), servername: 'localhost', ...client }, (res) => {
        res.resume();
        resolve(res.statusCode!);
      });
      req.once('error', reject).end();
    });

  it('lets a certificate of the CA through and refuses the handshake without one, or with one of another CA', async () => {
    expect(gw.managementUrl).toMatch(/^https:/);
    expect(gw.url).toMatch(/^http:/);
    expect(await tlsGet('/metrics', clientTls(certs, 'prometheus'))).toBe(200);
    await expect(tlsGet('/metrics')).rejects.toThrow();
    await expect(tlsGet('/metrics', clientTls(foreign, 'mallory'))).rejects.toThrow();
    // the admin API is off without an admin section, here as on a gateway without a management listener
    expect(await tlsGet('/admin/servers', clientTls(certs, 'prometheus'))).toBe(404);
  });
});

describe('bad management settings', () => {
  const servers = { s: { command: 'node' } };
  const problem = (doc: Record<string, unknown>) => {
    try {
      parseConfig({ servers, ...doc }, 'm.yaml');
    } catch (err) {
      return (err as Error).message;
    }
    throw new Error('the config was accepted');
  };

  it('names the field of each problem', () => {
    expect(problem({ management: { listen: 'nowhere' } })).toContain('management.listen: expected HOST:PORT');
    expect(problem({ management: { listen: '127.0.0.1:9464', port: 9464 } })).toMatch(/management: Unrecognized key.*"port"/);
    expect(problem({ listen: '127.0.0.1:8080', management: { listen: '127.0.0.1:8080' } })).toContain('management.listen: is the same address as listen');
    expect(problem({ management: { listen: '127.0.0.1:9464', auth: 'open' } })).toContain('management.auth:');
    expect(problem({ management: { listen: '127.0.0.1:9464', tls: { certFile: 'c', keyFile: 'k', clientCert: 'required' } } })).toContain(
      'management.tls.clientCaFile: clientCert: required needs clientCaFile',
    );
  });

  it('does not start a management listener other machines can reach without a door, before anything listens', async () => {
    const config = parseConfig({ listen: '127.0.0.1:0', management: { listen: '0.0.0.0:0' }, servers: { s: scripted(marker, ['--tools', 'echo']) } }, 't');
    const started = startGateway(config, QUIET);
    await expect(started).rejects.toThrow(FleetError);
    await expect(started).rejects.toThrow(/^management\.listen 0\.0\.0\.0:0 is reachable from other machines and has no door: set admin\.token/);
    expect(await waitForNoProcesses(marker)).toEqual([]);
  });

  it('stops what it started when the management address is taken', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = taken.address() as AddressInfo;
      const config = parseConfig(
        { listen: '127.0.0.1:0', management: { listen: `127.0.0.1:${port}` }, servers: { s: scripted(marker, ['--tools', 'echo']) } },
        't',
      );
      await expect(startGateway(config, QUIET)).rejects.toThrow(/EADDRINUSE/);
      expect(await waitForNoProcesses(marker)).toEqual([]);
    } finally {
      await new Promise((resolve) => taken.close(resolve));
    }
  });

  it('names the management TLS file it cannot read', async () => {
    const config = parseConfig(
      { listen: '127.0.0.1:0', management: { listen: '127.0.0.1:0', tls: { certFile: '/nonexistent/m.crt', keyFile: '/nonexistent/m.key' } }, servers },
      't',
    );
    await expect(startGateway(config, QUIET)).rejects.toThrow(/^management\.tls\.certFile: cannot read \/nonexistent\/m\.crt/);
  });
});
