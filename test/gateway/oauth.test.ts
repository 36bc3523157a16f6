/**
 * The gateway as an OAuth 2.1 resource server (MCP authorization spec), against a real
 * authorization server (oidc-provider, test/fixtures/authorization-server.ts): discovery from the
 * 401, tokens for the gateway's resource URI, every refusal path of a bearer JWT, step-up on a
 * missing scope, keys rotated at the issuer, and sessions bound to the principal that opened them.
 */
import { ClientCredentialsProvider } from '@modelcontextprotocol/sdk/client/auth-extensions.js';
import { connectGateway } from '../../gateway/client/connect';
import { freePort } from '../helpers/ports';
import { newMarker, startTestGateway, type TestGateway } from '../helpers/gateway';
import { signingKey, signToken, startAuthorizationServer, type AuthorizationServer, type SigningKey } from '../helpers/oauth';
import { INITIALIZE_BODY, postRaw } from '../helpers/raw-http';
import { scripted } from '../helpers/scripted';
import { waitForNoProcesses } from '../helpers/processes';

const AGENT = { clientId: 'agent', clientSecret: 'agent-secret-0123456789abcdef', scope: 'mcp:tools', roles: ['reader'] };
const OTHER = { clientId: 'other', clientSecret: 'other-secret-0123456789abcdef', scope: 'mcp:tools' };
const NO_SCOPE = { clientId: 'bare', clientSecret: 'bare-secret-0123456789abcdef', scope: 'profile' };
const INIT = INITIALIZE_BODY;

describe('OAuth 2.1 bearer tokens from a real authorization server', () => {
  const marker = newMarker();
  let key: SigningKey;
  let as: AuthorizationServer;
  let gw: TestGateway;
  let resource: string;
  let mcp: string;

  beforeAll(async () => {
    key = await signingKey('key-1');
    const port = await freePort();
    resource = `http://127.0.0.1:${port}/mcp`;
    as = await startAuthorizationServer({ keys: [key], resource, resourceScopes: ['mcp:tools', 'mcp:write'], clients: [AGENT, OTHER, NO_SCOPE] }, marker);
    gw = await startTestGateway(
      {
        listen: `127.0.0.1:${port}`,
        auth: { resource, oauth: { issuer: as.issuer, requiredScopes: ['mcp:tools'], jwksRefreshCooldownSec: 0 } },
        servers: { s: scripted(marker, ['--tools', 'echo']) },
      },
      marker,
    );
    mcp = `${gw.url}/mcp`;
  });

  afterAll(async () => {
    await gw?.stop();
    await as?.stop();
    expect(await waitForNoProcesses(marker)).toEqual([]);
  });

  const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

  it('answers 401 with a challenge that leads a client to the metadata and the authorization server', async () => {
    const res = await postRaw(mcp, INIT);
    expect(res.status).toBe(401);
    const challenge = res.headers.get('www-authenticate')!;
    expect(challenge).toContain(`resource_metadata="http://127.0.0.1:${new URL(mcp).port}/.well-known/oauth-protected-resource/mcp"`);
    expect(challenge).toContain('scope="mcp:tools"');
    for (const path of ['/.well-known/oauth-protected-resource/mcp', '/.well-known/oauth-protected-resource']) {
      const doc = await fetch(`${gw.url}${path}`).then((r) => r.json());
      expect(doc).toMatchObject({ resource, authorization_servers: [as.issuer], scopes_supported: ['mcp:tools'] });
    }
  });

  it('lets an SDK client in that discovers everything from the 401 and gets its token by client credentials', async () => {
    const authProvider = new ClientCredentialsProvider({
      clientId: AGENT.clientId,
      clientSecret: AGENT.clientSecret,
      scope: 'mcp:tools',
      expectedIssuer: as.issuer,
    });
    const { client, close } = await connectGateway(gw.url, 'streamable-http', { authProvider });
    try {
      const result = await client.callTool({ name: 's__echo', arguments: { text: 'hi' } });
      expect(JSON.stringify(result.content)).toContain('scripted:echo');
      expect(gw.logs.filter((l) => l.msg === 'call' && l.method === 'tools/call').map((l) => l.principal)).toContain('oauth:agent');
    } finally {
      await close();
    }
  });

  it('serves SSE and WebSocket clients that bring a token, and refuses an upgrade without one', async () => {
    const token = await as.token(AGENT.clientId, AGENT.clientSecret, 'mcp:tools');
    for (const front of ['sse', 'websocket'] as const) {
      const { client, close } = await connectGateway(gw.url, front, { headers: bearer(token) });
      try {
        expect((await client.listTools()).tools.map((t) => t.name)).toEqual(['s__echo']);
      } finally {
        await close();
      }
    }
    await expect(connectGateway(gw.url, 'websocket', { headers: { 'x-nothing': '1' }, timeoutMs: 5000 })).rejects.toThrow(/401/);
  });

  it('refuses a token without the required scope with 403 insufficient_scope naming it', async () => {
    const token = await as.token(NO_SCOPE.clientId, NO_SCOPE.clientSecret, 'profile');
    const res = await postRaw(mcp, INIT, bearer(token));
    expect(res.status).toBe(403);
    expect(res.headers.get('www-authenticate')).toMatch(/error="insufficient_scope".*scope="mcp:tools"/);
  });

  it.each([
    ['an expired token', { exp: Math.floor(Date.now() / 1000) - 3600 }, {}, /expired/],
    ['a token not valid yet', { nbf: Math.floor(Date.now() / 1000) + 3600 }, {}, /not valid yet/],
    ['a token for another audience', { aud: 'http://elsewhere.example/mcp' }, {}, /another audience/],
    ['a token of another issuer', { iss: 'http://127.0.0.1:1/other' }, {}, /another issuer/],
  ])('refuses %s with 401 invalid_token', async (_what, claims, header, reason) => {
    const token = await signToken(key, { iss: as.issuer, aud: resource, sub: 'agent', scope: 'mcp:tools', ...claims }, header);
    const res = await postRaw(mcp, INIT, bearer(token));
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toMatch(/error="invalid_token"/);
    expect(res.messages[0].error.message).toMatch(reason);
  });

  it('refuses a forged signature and an unknown key, and never takes alg none', async () => {
    const forger = await signingKey('key-1'); // the issuer's kid, another private key
    const stranger = await signingKey('key-unknown');
    const claims = { iss: as.issuer, aud: resource, sub: 'agent', scope: 'mcp:tools' };
    const forged = await postRaw(mcp, INIT, bearer(await signToken(forger, claims)));
    expect(forged.status).toBe(401);
    expect(forged.messages[0].error.message).toMatch(/signature does not verify/);
    const unknown = await postRaw(mcp, INIT, bearer(await signToken(stranger, claims)));
    expect(unknown.status).toBe(401);
    expect(unknown.messages[0].error.message).toMatch(/no key of the issuer/);
    const none = `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url')}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.x`;
    expect((await postRaw(mcp, INIT, bearer(none))).status).toBe(401);
  });

  it('binds a session to its principal: another principal, or none, never reaches it', async () => {
    const mine = await as.token(AGENT.clientId, AGENT.clientSecret, 'mcp:tools');
    const theirs = await as.token(OTHER.clientId, OTHER.clientSecret, 'mcp:tools');
    const init = await postRaw(mcp, INIT, bearer(mine));
    const sessionId = init.headers.get('mcp-session-id')!;
    const session = { 'mcp-session-id': sessionId, 'mcp-protocol-version': '2025-11-25' };
    const ping = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' });
    expect((await postRaw(mcp, ping, { ...session, ...bearer(theirs) })).status).toBe(404);
    expect((await postRaw(mcp, ping, session)).status).toBe(401);
    const stolenGet = await fetch(mcp, { headers: { ...session, ...bearer(theirs), accept: 'text/event-stream', 'last-event-id': '1' } });
    expect(stolenGet.status).toBe(404);
    const stolenDelete = await fetch(mcp, { method: 'DELETE', headers: { ...session, ...bearer(theirs) } });
    expect(stolenDelete.status).toBe(404);
    const own = await postRaw(mcp, ping, { ...session, ...bearer(mine) });
    expect(own.status).toBe(200);
    expect(own.messages[0].result).toEqual({});
    expect((await fetch(mcp, { method: 'DELETE', headers: { ...session, ...bearer(mine) } })).status).toBe(200);
    // the id is never written out whole: it would be half a credential in every log store
    expect(JSON.stringify(gw.logs)).not.toContain(sessionId);
  });

  it('takes tokens signed with a key the issuer rotated in, fetching its keys again', async () => {
    const rotated = await signingKey('key-2');
    const port = as.port;
    await as.stop();
    as = await startAuthorizationServer(
      { port, keys: [rotated, key], resource, resourceScopes: ['mcp:tools', 'mcp:write'], clients: [AGENT, OTHER, NO_SCOPE] },
      marker,
    );
    const token = await as.token(AGENT.clientId, AGENT.clientSecret, 'mcp:tools');
    expect(JSON.parse(Buffer.from(token.split('.')[0], 'base64url').toString()).kid).toBe('key-2');
    const res = await postRaw(mcp, INIT, bearer(token));
    expect(res.status).toBe(200);
    await fetch(mcp, { method: 'DELETE', headers: { 'mcp-session-id': res.headers.get('mcp-session-id')!, ...bearer(token) } });
  });
});
