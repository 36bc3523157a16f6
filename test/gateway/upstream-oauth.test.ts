/**
 * The gateway as an OAuth client of a remote server: the upstream (a second gateway, an OAuth
 * resource server of the real authorization server) takes only tokens issued for it; the outer
 * gateway gets one by client credentials with the upstream's resource indicator, sends it on every
 * request, and fetches the next one before it expires. The client of the outer gateway never
 * holds it, and its own key never goes upstream.
 */
import { connectGateway } from '../../gateway/client/connect';
import { newMarker, startTestGateway, type TestGateway } from '../helpers/gateway';
import { signingKey, startAuthorizationServer, type AuthorizationServer } from '../helpers/oauth';
import { freePort } from '../helpers/ports';
import { waitForNoProcesses } from '../helpers/processes';
import { scripted } from '../helpers/scripted';
import { waitFor } from '../helpers/wait';
import { testSecret } from '../helpers/secret-values';

const GATEWAY_CLIENT = { clientId: 'fleet-gateway', clientSecret: 'fleet-gateway-secret-0123456789ab', scope: 'mcp:tools' };
const CLIENT_KEY = testSecret('client-key-0123456789abcdefghijklmnopqrstuvwxyz');
const TTL_SEC = 3;
const marker = newMarker();
let as: AuthorizationServer;
let inner: TestGateway;
let outer: TestGateway;

beforeAll(async () => {
  const port = await freePort();
  const resource = `http://127.0.0.1:${port}/mcp`;
  as = await startAuthorizationServer(
    { keys: [await signingKey('k1')], resource, resourceScopes: ['mcp:tools'], clients: [GATEWAY_CLIENT], ttl: TTL_SEC },
    marker,
  );
  inner = await startTestGateway(
    {
      listen: `127.0.0.1:${port}`,
      auth: { resource, oauth: { issuer: as.issuer, requiredScopes: ['mcp:tools'], clockSkewSec: 0 } },
      servers: { s: scripted(marker, ['--tools', 'echo']) },
    },
    marker,
  );
  outer = await startTestGateway(
    {
      auth: { apiKeys: { keys: [{ name: 'client', key: CLIENT_KEY }] } },
      servers: {
        fleet: {
          url: resource,
          protocol: '2026-07-28',
          oauth: { issuer: as.issuer, clientId: GATEWAY_CLIENT.clientId, clientSecret: GATEWAY_CLIENT.clientSecret, scope: 'mcp:tools' },
        },
      },
    },
    marker,
  );
});

afterAll(async () => {
  await outer?.stop();
  await inner?.stop();
  await as?.stop();
  expect(await waitForNoProcesses(marker)).toEqual([]);
});

it('calls the upstream with a token of its own, and with a fresh one after the first expired', async () => {
  const { client, close } = await connectGateway(outer.url, 'streamable-http', { headers: { authorization: `Bearer ${CLIENT_KEY}` } });
  try {
    expect((await client.callTool({ name: 'fleet__s__echo', arguments: {} })).isError).toBeFalsy();
    const firstExpiry = Date.now() + TTL_SEC * 1000;
    // a call once the first token's lifetime is over can only pass with a token fetched since
    await waitFor(() => Date.now() > firstExpiry + 250, "the first token's expiry", TTL_SEC * 1000 + 2000);
    expect((await client.callTool({ name: 'fleet__s__echo', arguments: {} })).isError).toBeFalsy();
  } finally {
    await close();
  }
  const upstreamCalls = inner.logs.filter((l) => l.msg === 'call' && l.method === 'tools/call');
  expect(upstreamCalls.map((l) => l.principal)).toEqual(['oauth:fleet-gateway', 'oauth:fleet-gateway']);
  expect(inner.logs.some((l) => String(l.err ?? '').includes('expired'))).toBe(false);
});

it('refuses to start the server, naming why, when the authorization server will not issue a token', async () => {
  const gw = await startTestGateway(
    {
      servers: {
        fleet: {
          url: `${inner.url}/mcp`,
          protocol: '2026-07-28',
          oauth: { issuer: as.issuer, clientId: 'nobody', clientSecret: testSecret('wrong-secret-0123456789') },
        },
      },
      startup: { waitForServersMs: 5000 },
    },
    marker,
  );
  try {
    await waitFor(() => gw.logs.some((l) => /the token endpoint .* gave no token: invalid_client/.test(String(l.err ?? ''))), 'the refusal in the log', 5000);
  } finally {
    await gw.stop();
  }
});
