/**
 * Token exchange (RFC 8693) towards a remote upstream, against the real authorization server
 * (oidc-provider with the fixture's token-exchange grant): the upstream is a small MCP server that
 * is a resource server of its own, taking only JWTs the authorization server issued for its URL.
 * Each user's calls reach it with a token exchanged from the one that user's client authenticated
 * with (the latest it presented): it sees the user's `sub` and the gateway as `act`, and never the
 * client's own token. A refused exchange fails that client's calls, clearly, and nobody else's.
 */
import { ClientCredentialsProvider } from '@modelcontextprotocol/sdk/client/auth-extensions.js';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { connectGateway, type GatewayConnection } from '../../gateway/client/connect';
import { startAuthCheckingServer, type AuthCheckingServer } from '../helpers/auth-checking-server';
import { newMarker, startTestGateway, type TestGateway } from '../helpers/gateway';
import { jwtCheck, signingKey, startAuthorizationServer, type AuthorizationServer } from '../helpers/oauth';
import { freePort } from '../helpers/ports';
import { waitForNoProcesses } from '../helpers/processes';
import { scripted } from '../helpers/scripted';
import { waitFor } from '../helpers/wait';
import { testSecret } from '../helpers/secret-values';

const GATEWAY = { clientId: 'fleet-gateway', clientSecret: testSecret('fleet-gateway-secret-0123456789ab'), scope: 'mcp:tools' };
/** Users (their clients get tokens by client credentials: the client id is the user's sub). `mcp:upstream` lets the gateway act for them upstream. */
const ALICE = { clientId: 'alice', clientSecret: testSecret('alice-secret-0123456789abcdef'), scope: 'mcp:tools mcp:upstream' };
const BOB = { clientId: 'bob', clientSecret: testSecret('bob-secret-0123456789abcdef'), scope: 'mcp:tools mcp:upstream' };
const MALLORY = { clientId: 'mallory', clientSecret: testSecret('mallory-secret-0123456789abcd'), scope: 'mcp:tools' };
const API_KEY = testSecret('client-key-0123456789abcdefghijklmnopqrstuvwxyz');
const marker = newMarker();
let as: AuthorizationServer;
let upstream: AuthCheckingServer;
let gw: TestGateway;

beforeAll(async () => {
  const port = await freePort();
  const resource = `http://127.0.0.1:${port}/mcp`;
  upstream = await startAuthCheckingServer(
    jwtCheck(
      () => as.issuer,
      () => upstream.url,
    ),
  );
  as = await startAuthorizationServer(
    {
      keys: [await signingKey('k1')],
      resource,
      resourceScopes: ['mcp:tools', 'mcp:upstream'],
      clients: [GATEWAY, ALICE, BOB, MALLORY],
      tokenExchange: { resource: upstream.url, scopes: ['notes:read'], clients: [GATEWAY.clientId], subjectScope: 'mcp:upstream', ttl: 120 },
    },
    marker,
  );
  gw = await startTestGateway(
    {
      listen: `127.0.0.1:${port}`,
      auth: { resource, oauth: { issuer: as.issuer, requiredScopes: ['mcp:tools'] }, apiKeys: { keys: [{ name: 'ci', key: API_KEY }] } },
      servers: {
        notes: {
          url: upstream.url,
          protocol: '2025-11-25',
          mode: 'per-session',
          oauth: { grant: 'token-exchange', issuer: as.issuer, clientId: GATEWAY.clientId, clientSecret: GATEWAY.clientSecret, scope: 'notes:read' },
        },
        // the same upstream pinned to tenants: one upstream per user, shared by that user's sessions
        tenants: {
          url: upstream.url,
          protocol: '2025-11-25',
          mode: 'per-principal',
          oauth: { grant: 'token-exchange', issuer: as.issuer, clientId: GATEWAY.clientId, clientSecret: GATEWAY.clientSecret, scope: 'notes:read' },
        },
        s: scripted(marker, ['--tools', 'echo']),
      },
    },
    marker,
  );
});

afterAll(async () => {
  await gw?.stop();
  await upstream?.stop();
  await as?.stop();
  expect(await waitForNoProcesses(marker)).toEqual([]);
});

/** A client of `user` whose token can be replaced, as a client refreshing its tokens does. */
async function connectAs(
  user: { clientId: string; clientSecret: string; scope: string },
  scope = user.scope,
): Promise<GatewayConnection & { refresh(scope?: string): Promise<string>; token: () => string }> {
  const authProvider = new ClientCredentialsProvider({ clientId: user.clientId, clientSecret: user.clientSecret, scope, expectedIssuer: as.issuer });
  let token = await as.token(user.clientId, user.clientSecret, scope);
  authProvider.saveTokens({ access_token: token, token_type: 'Bearer' });
  const connection = await connectGateway(gw.url, 'streamable-http', { authProvider });
  return {
    ...connection,
    token: () => token,
    async refresh(newScope = user.scope) {
      token = await as.token(user.clientId, user.clientSecret, newScope);
      authProvider.saveTokens({ access_token: token, token_type: 'Bearer' });
      return token;
    },
  };
}

async function upstreamClaims(client: Client): Promise<Record<string, unknown>> {
  const result = await client.callTool({ name: 'notes__claims', arguments: {} });
  expect(result.isError).toBeFalsy();
  return JSON.parse((result.content as { text: string }[])[0].text) as Record<string, unknown>;
}

it("calls the upstream for each user with a token exchanged from that user's own, never with the client's token", async () => {
  const alice = await connectAs(ALICE);
  const bob = await connectAs(BOB);
  try {
    const [a, b] = await Promise.all([upstreamClaims(alice.client), upstreamClaims(bob.client)]);
    expect(a).toMatchObject({ sub: 'alice', act: { sub: GATEWAY.clientId }, aud: upstream.url, client_id: GATEWAY.clientId, scope: 'notes:read' });
    expect(b).toMatchObject({ sub: 'bob', act: { sub: GATEWAY.clientId }, aud: upstream.url });
    // one exchange per subject token: the next call goes with the same exchanged token
    expect((await upstreamClaims(alice.client)).jti).toBe(a.jti);
    for (const token of [alice.token(), bob.token()]) {
      expect(upstream.seen.some((h) => h.includes(token))).toBe(false);
      expect(JSON.stringify(gw.logs)).not.toContain(token);
    }
  } finally {
    await Promise.all([alice.close(), bob.close()]);
  }
});

it("acts for each user on a per-principal server with the token of that user's latest session", async () => {
  const [alice1, alice2, bob] = [await connectAs(ALICE), await connectAs(ALICE), await connectAs(BOB)];
  try {
    const claims = async (c: Client) => {
      const result = await c.callTool({ name: 'tenants__claims', arguments: {} });
      return JSON.parse((result.content as { text: string }[])[0].text) as Record<string, unknown>;
    };
    expect(await claims(alice1.client)).toMatchObject({ sub: 'alice', act: { sub: GATEWAY.clientId }, aud: upstream.url });
    expect(await claims(alice2.client)).toMatchObject({ sub: 'alice' });
    expect(await claims(bob.client)).toMatchObject({ sub: 'bob' });
    expect(
      gw.registry
        .ownersOf('tenants')
        .map((o) => o.tenant)
        .sort(),
    ).toEqual(['oauth:alice', 'oauth:bob']);
  } finally {
    await Promise.all([alice1.close(), alice2.close(), bob.close()]);
  }
});

it('exchanges the refreshed token once the client presents it', async () => {
  const alice = await connectAs(ALICE);
  try {
    const before = await upstreamClaims(alice.client);
    const sessionsBefore = upstream.sessionsOpened;
    const refreshed = await alice.refresh();
    const after = await upstreamClaims(alice.client);
    expect(after).toMatchObject({ sub: 'alice', act: { sub: GATEWAY.clientId } });
    expect(after.jti).not.toBe(before.jti);
    // the same upstream session goes on with the new token
    expect(upstream.sessionsOpened).toBe(sessionsBefore);
    expect(upstream.seen.some((h) => h.includes(refreshed))).toBe(false);
  } finally {
    await alice.close();
  }
});

it('fails the calls of a client whose token the authorization server will not exchange, naming why, and nobody else’s', async () => {
  const alice = await connectAs(ALICE);
  const bob = await connectAs(BOB);
  try {
    await upstreamClaims(alice.client);
    // alice's client refreshes to a token without the scope that lets the gateway act for her
    await alice.refresh('mcp:tools');
    await expect(alice.client.callTool({ name: 'notes__claims', arguments: {} })).rejects.toMatchObject({
      code: -32003,
      message: expect.stringMatching(
        /server "notes": the authorization server refused to exchange the access token of oauth:alice: invalid_grant \(the subject token does not carry the scope mcp:upstream/,
      ),
    });
    expect((await upstreamClaims(bob.client)).sub).toBe('bob');
    // her session and its upstream stay: with a token the server exchanges, her calls go through again
    await alice.refresh();
    expect((await upstreamClaims(alice.client)).sub).toBe('alice');
  } finally {
    await Promise.all([alice.close(), bob.close()]);
  }
});

it('opens no upstream for a user the authorization server refuses, and says why in the log', async () => {
  const mallory = await connectAs(MALLORY);
  try {
    expect((await mallory.client.listTools()).tools.map((t) => t.name)).toEqual(['s__echo']);
    await waitFor(
      () => gw.logs.some((l) => /refused to exchange the access token of oauth:mallory: invalid_grant/.test(String(l.err ?? ''))),
      'the refusal in the log',
      5000,
    );
  } finally {
    await mallory.close();
  }
});

it('refuses the server to a client that authenticated with an API key, which has no token to exchange', async () => {
  const { client, close } = await connectGateway(gw.url, 'streamable-http', { headers: { authorization: `Bearer ${API_KEY}` } });
  try {
    expect((await client.listTools()).tools.map((t) => t.name)).toEqual(['s__echo']);
    expect((await client.callTool({ name: 's__echo', arguments: {} })).isError).toBeFalsy();
    await waitFor(() => gw.logs.some((l) => /api-key:ci has no access token to exchange/.test(String(l.err ?? ''))), 'the refusal in the log', 5000);
  } finally {
    await close();
  }
  expect(JSON.stringify(gw.logs)).not.toContain(API_KEY);
});
