/**
 * API keys, per-tool policy, admin roles and the registration allowlist, on a real gateway over
 * real HTTP with official SDK clients; and the rule that a listener others can reach does not
 * start without client authentication.
 */
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectGateway } from '../../gateway/client/connect';
import { parseConfig } from '../../gateway/config/load';
import { startGateway } from '../../gateway/gateway';
import { capturingLogger } from '../helpers/log-lines';
import { hashKey } from '../../gateway/auth/api-keys';
import { ADMIN_TOKEN, TEST_REGISTER, admin } from '../helpers/admin';
import { newMarker, startTestGateway, type TestGateway } from '../helpers/gateway';
import { waitForNoProcesses } from '../helpers/processes';
import { INITIALIZE_BODY, postRaw } from '../helpers/raw-http';
import { scrapeMetrics, sampleValue } from '../helpers/metrics';
import { scripted } from '../helpers/scripted';
import { waitFor } from '../helpers/wait';
import { testSecret } from '../helpers/secret-values';

const INIT = INITIALIZE_BODY;
const READER_KEY = testSecret('reader-key-0123456789abcdefghijklmnopqrstuvwxyz');
const WRITER_KEY = testSecret('writer-key-0123456789abcdefghijklmnopqrstuvwxyz');
const OPERATOR_KEY = testSecret('operator-key-0123456789abcdefghijklmnopqrstuvw');
const bearer = (key: string) => ({ authorization: `Bearer ${key}` });

describe('API keys, policy and admin roles', () => {
  const marker = newMarker();
  const dir = mkdtempSync(join(tmpdir(), 'mcp-fleet-keys-'));
  const keyFile = join(dir, 'keys.yaml');
  let gw: TestGateway;

  beforeAll(async () => {
    gw = await startTestGateway(
      {
        auth: {
          apiKeys: {
            file: keyFile,
            keys: [
              { name: 'reader', key: READER_KEY, roles: ['reader'] },
              { name: 'writer', hash: hashKey(WRITER_KEY), roles: ['writer'], scopes: ['files:write'] },
              { name: 'operator', key: OPERATOR_KEY, roles: ['admin:read', 'admin:keys'] },
              { name: 'expired', key: 'expired-key-0123456789abcdefghijklmnopqrstuv', expiresAt: '2020-01-01T00:00:00Z' },
            ],
          },
        },
        policy: {
          rules: [
            { name: 'no-writes-for-readers', effect: 'deny', roles: ['reader'], servers: ['files'], tools: ['write_*'] },
            { name: 'writes-need-scope', effect: 'allow', servers: ['files'], tools: ['write_*'], requireScopes: ['files:write'] },
            { name: 'nobody-reads-secrets', effect: 'deny', tools: ['secret'] },
          ],
        },
        admin: { token: ADMIN_TOKEN, register: TEST_REGISTER },
        servers: { files: scripted(marker, ['--name', 'files', '--tools', 'read_file,write_file,secret']) },
      },
      marker,
    );
  });

  afterAll(async () => {
    await gw?.stop();
    rmSync(dir, { recursive: true, force: true });
    expect(await waitForNoProcesses(marker)).toEqual([]);
  });

  it('lets a client in with a valid key and refuses an unknown, malformed or expired one with 401', async () => {
    expect((await postRaw(`${gw.url}/mcp`, INIT)).status).toBe(401);
    expect((await postRaw(`${gw.url}/mcp`, INIT, bearer('not-a-key-0123456789abcdefghijklmnop'))).status).toBe(401);
    expect((await postRaw(`${gw.url}/mcp`, INIT, { authorization: 'Basic abc' })).status).toBe(401);
    const expired = await postRaw(`${gw.url}/mcp`, INIT, bearer('expired-key-0123456789abcdefghijklmnopqrstuv'));
    expect(expired.status).toBe(401);
    expect(expired.messages[0].error.message).toMatch(/"expired" expired/);
    const ok = await postRaw(`${gw.url}/mcp`, INIT, { 'x-api-key': READER_KEY });
    expect(ok.status).toBe(200);
    // no key, no hash of one, in any log line
    expect(JSON.stringify(gw.logs)).not.toMatch(new RegExp(`${READER_KEY}|${hashKey(READER_KEY).slice(7)}`));
    // each refusal counted by its kind, no principal or key in the labels
    const samples = await scrapeMetrics(gw);
    expect(sampleValue(samples, 'mcp_gateway_auth_refusals_total', { reason: 'missing' })).toBe(1);
    expect(sampleValue(samples, 'mcp_gateway_auth_refusals_total', { reason: 'invalid_token' })).toBe(2);
    expect(sampleValue(samples, 'mcp_gateway_auth_refusals_total', { reason: 'invalid_request' })).toBe(1);
  });

  it('leaves a denied tool out of the lists and refuses calling it, naming the rule', async () => {
    const { client, close } = await connectGateway(gw.url, 'streamable-http', { headers: bearer(READER_KEY) });
    try {
      expect((await client.listTools()).tools.map((t) => t.name).sort()).toEqual(['files__read_file']);
      const denied = await client.callTool({ name: 'files__write_file', arguments: {} }).catch((err: Error) => err);
      expect(String(denied)).toMatch(/tool "write_file" of server "files" is not allowed for api-key:reader \(policy rule "no-writes-for-readers"\)/);
      expect(String(await client.callTool({ name: 'files__secret', arguments: {} }).catch((e: Error) => e))).toMatch(/nobody-reads-secrets/);
      expect((await client.callTool({ name: 'files__read_file', arguments: {} })).isError).toBeFalsy();
    } finally {
      await close();
    }
    const refusal = gw.logs.find((l) => l.msg === 'policy refused a request' && l.rule === 'no-writes-for-readers');
    expect(refusal).toMatchObject({ principal: 'api-key:reader', server: 'files', tool: 'write_file' });
    expect(refusal).not.toHaveProperty('arguments');
  });

  it('lists a tool that needs a scope and refuses it with 403 insufficient_scope until the principal has it', async () => {
    const { client, close } = await connectGateway(gw.url, 'streamable-http', { headers: bearer(WRITER_KEY) });
    try {
      expect((await client.callTool({ name: 'files__write_file', arguments: {} })).isError).toBeFalsy();
    } finally {
      await close();
    }
    const added = await admin(gw, 'POST', '/admin/api-keys', { body: { name: 'no-scope', roles: ['writer'] } });
    expect(added.status).toBe(201);
    const init = await postRaw(`${gw.url}/mcp`, INIT, bearer(added.body.key));
    const session = { ...bearer(added.body.key), 'mcp-session-id': init.headers.get('mcp-session-id')!, 'mcp-protocol-version': '2025-11-25' };
    const list = await postRaw(`${gw.url}/mcp`, JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }), session);
    expect(list.messages[0].result.tools.map((t: { name: string }) => t.name)).toContain('files__write_file');
    const call = await postRaw(
      `${gw.url}/mcp`,
      JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'files__write_file', arguments: {} } }),
      session,
    );
    expect(call.status).toBe(403);
    expect(call.headers.get('www-authenticate')).toMatch(/error="insufficient_scope", scope="files:write"/);
    expect(call.messages[0].error).toMatchObject({ code: -32003, data: { scope: 'files:write' } });
  });

  it('adds, rotates (both keys valid during the overlap) and revokes keys without a restart, and writes them to the key file', async () => {
    const added = await admin(gw, 'POST', '/admin/api-keys', { body: { name: 'ci', roles: ['reader'] } });
    expect(added).toMatchObject({ status: 201, body: { name: 'ci', roles: ['reader'], key: expect.stringMatching(/^mcpk_/) } });
    const first = added.body.key as string;
    expect((await postRaw(`${gw.url}/mcp`, INIT, bearer(first))).status).toBe(200);
    const rotated = await admin(gw, 'POST', '/admin/api-keys/ci/rotate', { body: { overlapSec: 600 } });
    expect(rotated.status).toBe(201);
    const second = rotated.body.key as string;
    expect(second).not.toBe(first);
    expect((await postRaw(`${gw.url}/mcp`, INIT, bearer(first))).status).toBe(200);
    expect((await postRaw(`${gw.url}/mcp`, INIT, bearer(second))).status).toBe(200);
    const listed = await admin(gw, 'GET', '/admin/api-keys');
    expect(listed.body.keys.filter((k: { name: string }) => k.name === 'ci')).toHaveLength(2);
    expect(JSON.stringify(listed.body)).not.toContain(hashKey(second).slice(7, 40));
    expect((await admin(gw, 'DELETE', '/admin/api-keys/ci')).status).toBe(204);
    expect((await postRaw(`${gw.url}/mcp`, INIT, bearer(first))).status).toBe(401);
    expect((await postRaw(`${gw.url}/mcp`, INIT, bearer(second))).status).toBe(401);
    expect((await admin(gw, 'DELETE', '/admin/api-keys/ci')).status).toBe(404);
  });

  it('reads keys written to the key file by hand', async () => {
    const key = testSecret('hand-written-key-0123456789abcdefghijklmnop');
    writeFileSync(keyFile, `keys:\n  - { name: by-hand, hash: "${hashKey(key)}", roles: [reader] }\n`);
    await waitFor(async () => (await postRaw(`${gw.url}/mcp`, INIT, bearer(key))).status === 200, 'the hand-written key to work', 5000);
    writeFileSync(keyFile, 'keys: [ { name: broken } ]\n');
    await waitFor(() => gw.logs.some((l) => l.msg === 'API key file not reloaded; the keys read before stay in force'), 'the bad file to be refused', 5000);
    expect((await postRaw(`${gw.url}/mcp`, INIT, bearer(key))).status).toBe(200);
  });

  it('gives the admin API to principals by role: reading and keys for the operator, nothing for a plain reader', async () => {
    expect((await admin(gw, 'GET', '/admin/servers', { token: OPERATOR_KEY })).status).toBe(200);
    const weights = await admin(gw, 'PUT', '/admin/servers/files/weights', { token: OPERATOR_KEY, body: { primary: 1 } });
    expect(weights).toMatchObject({ status: 403, body: { error: expect.stringContaining('needs the role admin:operate') } });
    expect((await admin(gw, 'GET', '/admin/stats', { token: READER_KEY })).status).toBe(403);
    const registered = await admin(gw, 'POST', '/admin/servers', { token: OPERATOR_KEY, body: { name: 'x', command: process.execPath } });
    expect(registered.status).toBe(403);
  });

  it('registers only what the allowlist names, and no URL that is not HTTP or WebSocket', async () => {
    const outside = await admin(gw, 'POST', '/admin/servers', { body: { name: 'sh', command: '/bin/sh', args: ['-c', 'id'] } });
    expect(outside).toMatchObject({ status: 403, body: { error: expect.stringContaining('command: "/bin/sh" is not on the registration allowlist') } });
    const remote = await admin(gw, 'POST', '/admin/servers', { body: { name: 'far', url: 'http://169.254.169.254/latest/meta-data' } });
    expect(remote).toMatchObject({ status: 403, body: { error: expect.stringContaining('admin.register.urls') } });
    const file = await admin(gw, 'POST', '/admin/servers', { body: { name: 'passwd', url: 'file:///etc/passwd' } });
    expect(file).toMatchObject({ status: 400, body: { error: expect.stringContaining('http(s):// or ws(s)://') } });
  });
});

describe('the admin API under guessing', () => {
  it('throttles an address after repeated wrong tokens (429 with Retry-After), then still refuses', async () => {
    const marker = newMarker();
    const gw = await startTestGateway({ admin: { token: ADMIN_TOKEN }, servers: { a: scripted(marker, ['--tools', 'echo']) } }, marker);
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 15; i++) statuses.push((await admin(gw, 'GET', '/admin/servers', { token: `wrong-${i}` })).status);
      expect(statuses.slice(0, 10)).toEqual(Array(10).fill(401));
      expect(new Set(statuses.slice(10))).toEqual(new Set([429]));
      const limited = await admin(gw, 'GET', '/admin/servers');
      expect(limited.status).toBe(429);
      expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    } finally {
      await gw.stop();
    }
  });

  it('refuses a weak admin token when the config loads', () => {
    expect(() => parseConfig({ admin: { token: 'short' }, servers: { a: { command: 'x' } } }, 't')).toThrow(
      /admin\.token: the admin token must have at least 32 characters/,
    );
    expect(() => parseConfig({ admin: { token: 'a'.repeat(40) }, servers: { a: { command: 'x' } } }, 't')).toThrow(/too guessable/);
  });
});

describe('a listener other machines can reach', () => {
  const marker = newMarker();
  const doc = (extra: Record<string, unknown>) =>
    parseConfig({ listen: '0.0.0.0:0', servers: { a: scripted(marker, ['--tools', 'echo']) }, ...extra }, 'test config');

  afterAll(async () => {
    expect(await waitForNoProcesses(marker)).toEqual([]);
  });

  it('does not start without client authentication, and starts with auth: none written out, warning', async () => {
    const { log, lines } = capturingLogger('info');
    await expect(startGateway(doc({}), { log })).rejects.toThrow(/reachable from other machines, and the config names no client authentication/);
    const gw = await startGateway(doc({ auth: 'none' }), { log });
    try {
      expect(lines.join('')).toContain('auth: none on a listener other machines can reach');
    } finally {
      await gw.stop();
    }
  });
});

describe('sessions per principal', () => {
  it('refuses a principal its next session at limits.maxSessionsPerPrincipal, while others still get theirs', async () => {
    const marker = newMarker();
    const gw = await startTestGateway(
      {
        auth: {
          apiKeys: {
            keys: [
              { name: 'greedy', key: READER_KEY },
              { name: 'polite', key: WRITER_KEY },
            ],
          },
        },
        limits: { maxSessionsPerPrincipal: 2 },
        servers: { a: scripted(marker, ['--tools', 'echo']) },
      },
      marker,
    );
    try {
      const mcp = `${gw.url}/mcp`;
      const opened = [await postRaw(mcp, INIT, bearer(READER_KEY)), await postRaw(mcp, INIT, bearer(READER_KEY))];
      expect(opened.map((r) => r.status)).toEqual([200, 200]);
      const third = await postRaw(mcp, INIT, bearer(READER_KEY));
      expect(third.status).toBe(429);
      expect(third.messages[0].error.message).toMatch(/too many client sessions of api-key:greedy.*limits\.maxSessionsPerPrincipal/);
      expect((await postRaw(mcp, INIT, bearer(WRITER_KEY))).status).toBe(200);
      // a session that ends gives its slot back
      await fetch(mcp, { method: 'DELETE', headers: { ...bearer(READER_KEY), 'mcp-session-id': opened[0].headers.get('mcp-session-id')! } });
      expect((await postRaw(mcp, INIT, bearer(READER_KEY))).status).toBe(200);
    } finally {
      await gw.stop();
    }
    expect(await waitForNoProcesses(marker)).toEqual([]);
  });
});
