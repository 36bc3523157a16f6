/**
 * TLS towards remote servers, with real handshakes: a gateway in front of another gateway that
 * listens on HTTPS and requires client certificates of its CA. The outer gateway reaches it over
 * all three remote transports (Streamable HTTP, legacy SSE, WebSocket) with `tls.caFile` and a
 * client certificate, and an SDK client on the outer gateway calls a tool through each. Without
 * the certificate, without the CA, with a server name the certificate does not carry, or with a
 * file that is missing, the server stays down and its error says why.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { generateCerts, type CertDir } from '../helpers/certs';
import { connectClient, disconnect, newMarker, startTestGateway, type TestGateway } from '../helpers/gateway';
import { waitForNoProcesses } from '../helpers/processes';
import { everything } from '../helpers/servers';
import { waitFor } from '../helpers/wait';

jest.setTimeout(90_000);

const marker = newMarker();
let root: string;
let certs: CertDir;
let inner: TestGateway;
let outer: TestGateway;
let refused: TestGateway;
let client: Client;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'mcp-fleet-upstream-tls-'));
  certs = await generateCerts(join(root, 'ca'), { clients: ['outer-gateway=URI:spiffe://fleet/gateway'] });
  inner = await startTestGateway(
    { tls: { certFile: certs.serverCert, keyFile: certs.serverKey, clientCaFile: certs.ca }, servers: { ev: everything(marker) } },
    marker,
  );
  const { cert, key } = certs.client('outer-gateway');
  const tls = { caFile: certs.ca, certFile: cert, keyFile: key };
  const wss = inner.url.replace('https', 'wss');
  outer = await startTestGateway(
    {
      servers: {
        http: { url: `${inner.url}/mcp`, tls },
        sse: { url: `${inner.url}/sse`, tls },
        ws: { url: `${wss}/ws`, tls: { ...tls, serverName: 'localhost' } },
      },
    },
    marker,
  );
  refused = await startTestGateway(
    {
      startup: { waitForServersMs: 0 },
      servers: {
        nocert: { url: `${inner.url}/mcp`, tls: { caFile: certs.ca } },
        noca: { url: `${inner.url}/mcp`, tls: { certFile: cert, keyFile: key } },
        wrongname: { url: `${wss}/ws`, tls: { ...tls, serverName: 'elsewhere.test' } },
        missing: { url: `${inner.url}/mcp`, tls: { ...tls, caFile: join(root, 'no-such-ca.crt') } },
      },
    },
    marker,
  );
  client = await connectClient(outer, 'streamable-http');
});

afterAll(async () => {
  if (client) await disconnect(client);
  await refused?.stop();
  await outer?.stop();
  await inner?.stop();
  rmSync(root, { recursive: true, force: true });
  expect(await waitForNoProcesses(marker)).toEqual([]);
});

it.each(['http', 'sse', 'ws'])('reaches an HTTPS server that requires a client certificate over %s', async (server) => {
  expect(outer.registry.groupFor(undefined, server)?.state).toBe('ready');
  expect(await client.callTool({ name: `${server}__ev__echo`, arguments: { message: `tls via ${server}` } })).toMatchObject({
    content: [{ type: 'text', text: `Echo: tls via ${server}` }],
  });
});

it.each([
  ['nocert', /alert certificate required/],
  ['noca', /unable to verify the first certificate|self-signed certificate/],
  ['wrongname', /Hostname\/IP does not match certificate's altnames: Host: elsewhere\.test/],
  ['missing', /servers\.missing\.tls\.caFile: cannot read .*no-such-ca\.crt: ENOENT/],
])('keeps %s down with an error that says why', async (server, why) => {
  const group = refused.registry.groupFor(undefined, server)!;
  const error = await waitFor(() => group.lastError, `${server}'s connection error`);
  expect(error.message).toMatch(why);
  expect(group.state).not.toBe('ready');
});
