/**
 * Credentials never reach the log, at debug level, over every network front: the clients' API keys
 * (right and wrong ones), the admin token (right and wrong), and an upstream's bearer token, which
 * the upstream quotes back in its 401 (as a careless server might) so that the gateway's own error
 * lines carry it: resolved from `${secret:file:…}`, it is written `[secret]` there.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectGateway, NETWORK_FRONTS } from '../../gateway/client/connect';
import { startAuthCheckingServer, type AuthCheckingServer } from '../helpers/auth-checking-server';
import { resolveConfig, type LoadedConfig } from '../../gateway/config/load';
import { startGateway, type RunningGateway } from '../../gateway/gateway';
import { newMarker } from '../helpers/gateway';
import { capturingLogger } from '../helpers/log-lines';
import { waitForNoProcesses } from '../helpers/processes';
import { scripted } from '../helpers/scripted';
import { testSecret } from '../helpers/secret-values';
import { waitFor } from '../helpers/wait';

const CLIENT_KEY = testSecret('redaction-client-key-0123456789abcdefghijkl');
const WRONG_KEY = testSecret('redaction-wrong-key-0123456789abcdefghijklm');
const ADMIN_TOKEN = testSecret('redaction-admin-token-0123456789abcdefghij');
const WRONG_ADMIN = testSecret('redaction-wrong-admin-0123456789abcdefghij');
const UPSTREAM_TOKEN = testSecret('redaction-upstream-token-0123456789abcdefg');
const marker = newMarker();
let dir: string;
let upstream: AuthCheckingServer;
let loaded: LoadedConfig;
let gw: RunningGateway;
let url: string;
const { log, lines } = capturingLogger('debug');

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'mcp-fleet-redaction-'));
  writeFileSync(join(dir, 'upstream-token'), UPSTREAM_TOKEN);
  // it refuses the gateway's token at first, quoting it in the 401 body
  upstream = await startAuthCheckingServer([]);
  loaded = await resolveConfig(
    {
      listen: '127.0.0.1:0',
      auth: { apiKeys: { keys: [{ name: 'client', key: CLIENT_KEY }] } },
      admin: { token: ADMIN_TOKEN },
      servers: {
        s: scripted(marker, ['--tools', 'echo']),
        remote: {
          url: upstream.url,
          required: false,
          headers: { Authorization: `Bearer \${secret:file:${join(dir, 'upstream-token')}}` },
          restart: { initialDelayMs: 100, maxDelayMs: 200 },
        },
      },
    },
    'log-redaction test config',
  );
  gw = await startGateway(loaded.config, { log });
  url = gw.url!;
});

afterAll(async () => {
  await gw?.stop();
  loaded?.secrets?.close();
  await upstream?.stop();
  rmSync(dir, { recursive: true, force: true });
  expect(await waitForNoProcesses(marker)).toEqual([]);
});

test('no API key, admin token or upstream token appears in any log line', async () => {
  // the upstream's 401 quoted the token; the gateway's line about it says [secret] instead
  const refused = await waitFor(() => lines.find((l) => l.includes('"server":"remote"') && l.includes('[secret]')), 'the upstream refusal logged');
  expect(refused).not.toContain(UPSTREAM_TOKEN);
  upstream.accepted.add(`Bearer ${UPSTREAM_TOKEN}`);

  for (const front of NETWORK_FRONTS) {
    const { client, close } = await connectGateway(url, front, { headers: { authorization: `Bearer ${CLIENT_KEY}` } });
    try {
      await client.callTool({ name: 's__echo', arguments: {} });
      await waitFor(async () => (await client.listTools()).tools.some((t) => t.name === 'remote__whoami'), 'the remote server connected');
      // the answer has the upstream token (the upstream says what it got); the log must not
      const whoami = (await client.callTool({ name: 'remote__whoami', arguments: {} })) as { content: { text: string }[] };
      expect(whoami.content[0].text).toBe(`Bearer ${UPSTREAM_TOKEN}`);
    } finally {
      await close();
    }
    await expect(connectGateway(url, front, { headers: { authorization: `Bearer ${WRONG_KEY}` }, timeoutMs: 5000 })).rejects.toThrow();
  }
  const x = await fetch(`${url}/mcp`, { method: 'POST', headers: { 'x-api-key': WRONG_KEY, 'content-type': 'application/json' }, body: '{}' });
  expect(x.status).toBe(401);
  for (const token of [ADMIN_TOKEN, WRONG_ADMIN]) await fetch(`${url}/admin/servers`, { headers: { authorization: `Bearer ${token}` } });

  const logs = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  expect(logs.filter((l) => l.msg === 'call').length).toBeGreaterThanOrEqual(2 * NETWORK_FRONTS.length);
  expect(logs.some((l) => l.msg === 'HTTP request refused' && l.status === 401)).toBe(true);
  const text = lines.join('\n');
  for (const secret of [CLIENT_KEY, WRONG_KEY, ADMIN_TOKEN, WRONG_ADMIN, UPSTREAM_TOKEN]) expect(text).not.toContain(secret);
});
