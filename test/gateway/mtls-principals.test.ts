/**
 * Client certificates as principals (auth.mtls): a certificate the listener verified names the
 * principal by its subject, gets the roles of the first matching auth.mtls.principals entry, and
 * policies name it like any other principal; a TLS client without a certificate has no principal.
 * And opaque access tokens checked by RFC 7662 introspection at a real authorization server.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectGateway } from '../../gateway/client/connect';
import { clientTls, generateCerts, type CertDir } from '../helpers/certs';
import { newMarker, startTestGateway, type TestGateway } from '../helpers/gateway';
import { signingKey, startAuthorizationServer, type AuthorizationServer } from '../helpers/oauth';
import { freePort } from '../helpers/ports';
import { waitForNoProcesses } from '../helpers/processes';
import { INITIALIZE_BODY, postRaw } from '../helpers/raw-http';
import { scripted } from '../helpers/scripted';

const marker = newMarker();

const readCa = (certs: CertDir) => readFileSync(certs.ca);
const caAndCert = (certs: CertDir, name: string) => ({ ca: readCa(certs), ...clientTls(certs, name) });

afterAll(async () => {
  expect(await waitForNoProcesses(marker)).toEqual([]);
});

describe('client certificates as principals', () => {
  let root: string;
  let certs: CertDir;
  let gw: TestGateway;

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'mcp-fleet-mtls-'));
    certs = await generateCerts(join(root, 'ca'), { clients: ['agent-1=URI:spiffe://fleet/agent-1', 'intern'] });
    gw = await startTestGateway(
      {
        tls: { certFile: certs.serverCert, keyFile: certs.serverKey, clientCaFile: certs.ca, clientCert: 'optional' },
        auth: { mtls: { principals: [{ match: 'URI:spiffe://fleet/*', roles: ['agent'] }] } },
        policy: { default: 'deny', rules: [{ name: 'agents-use-files', effect: 'allow', roles: ['agent'], servers: ['files'] }] },
        servers: { files: scripted(marker, ['--name', 'files', '--tools', 'echo']) },
      },
      marker,
    );
  });

  afterAll(async () => {
    await gw?.stop();
    rmSync(root, { recursive: true, force: true });
  });

  it('names the principal by the certificate subject, with the roles its SAN maps to', async () => {
    const { client, close } = await connectGateway(gw.url, 'streamable-http', { tls: caAndCert(certs, 'agent-1') });
    try {
      expect((await client.listTools()).tools.map((t) => t.name)).toEqual(['files__echo']);
      await client.callTool({ name: 'files__echo', arguments: {} });
    } finally {
      await close();
    }
    const line = gw.logs.find((l) => l.msg === 'call' && l.method === 'tools/call');
    expect(String(line?.principal)).toMatch(/^mtls:CN=agent-1/);
  });

  it('gives a certificate that maps to no entry no roles: the policy leaves it nothing', async () => {
    const { client, close } = await connectGateway(gw.url, 'streamable-http', { tls: caAndCert(certs, 'intern') });
    try {
      expect((await client.listTools()).tools).toEqual([]);
      expect(String(await client.callTool({ name: 'files__echo', arguments: {} }).catch((e: Error) => e))).toMatch(/policy rule "default"/);
    } finally {
      await close();
    }
  });

  it('refuses a TLS client without a certificate with 401', async () => {
    await expect(connectGateway(gw.url, 'streamable-http', { tls: { ca: readCa(certs) }, timeoutMs: 5000 })).rejects.toThrow(/401|authentication required/);
  });
});

describe('opaque access tokens by introspection', () => {
  let as: AuthorizationServer;
  let gw: TestGateway;
  const client = { clientId: 'agent', clientSecret: 'agent-secret-0123456789abcdef', scope: 'mcp:tools' };
  const gatewayClient = { clientId: 'gateway', clientSecret: 'gateway-secret-0123456789abcdef', scope: 'openid' };

  beforeAll(async () => {
    const port = await freePort();
    const resource = `http://127.0.0.1:${port}/mcp`;
    as = await startAuthorizationServer(
      { keys: [await signingKey('k')], resource, resourceScopes: ['mcp:tools'], clients: [client, gatewayClient], opaque: true },
      marker,
    );
    gw = await startTestGateway(
      {
        listen: `127.0.0.1:${port}`,
        auth: {
          resource,
          oauth: {
            issuer: as.issuer,
            introspection: { url: `${as.issuer}/token/introspection`, clientId: gatewayClient.clientId, clientSecret: gatewayClient.clientSecret },
          },
        },
        servers: { s: scripted(marker, ['--tools', 'echo']) },
      },
      marker,
    );
  });

  afterAll(async () => {
    await gw?.stop();
    await as?.stop();
  });

  it('takes an active opaque token and refuses a made-up one', async () => {
    const token = await as.token(client.clientId, client.clientSecret, 'mcp:tools');
    expect(token.split('.')).toHaveLength(1);
    const init = INITIALIZE_BODY;
    const ok = await postRaw(`${gw.url}/mcp`, init, { authorization: `Bearer ${token}` });
    expect(ok.messages[0].error?.message).toBeUndefined();
    expect(ok.status).toBe(200);
    const made = await postRaw(`${gw.url}/mcp`, init, { authorization: 'Bearer made-up-opaque-token' });
    expect(made.status).toBe(401);
    expect(made.messages[0].error.message).toMatch(/not active/);
  });
});
