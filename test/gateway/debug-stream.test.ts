/**
 * GET /admin/debug/stream on a real gateway: refused without the admin door, the live call events
 * of the servers and tools asked for (with trace, request id, outcome and duration; no bodies
 * unless an `admin` asks, secret-like keys masked then), session events, and a subscriber that
 * does not read is dropped at its bound (limits.sendQueueBytes) instead of being buffered.
 * scripts/mcp-debug.sh prints the stream one line per event, and says what is wrong with a filter.
 */
import { spawn } from 'node:child_process';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { ROOT } from '../containers/support/docker';
import { connectGateway } from '../../gateway/client/connect';
import { newMarker, startTestGateway, type TestGateway } from '../helpers/gateway';
import { waitForNoProcesses } from '../helpers/processes';
import { scripted } from '../helpers/scripted';
import { testSecret } from '../helpers/secret-values';
import { waitFor } from '../helpers/wait';

const ADMIN_TOKEN = testSecret('debug-stream-admin-token-0123456789abcdefg');
const READER_KEY = testSecret('debug-stream-reader-key-0123456789abcdefgh');
const CLIENT_KEY = testSecret('debug-stream-client-key-0123456789abcdefgh');
const SEND_QUEUE = 256 * 1024;
const marker = newMarker();
let gw: TestGateway;

beforeAll(async () => {
  gw = await startTestGateway(
    {
      auth: {
        apiKeys: {
          keys: [
            { name: 'client', key: CLIENT_KEY },
            { name: 'reader', key: READER_KEY, roles: ['admin:read'] },
          ],
        },
      },
      admin: { token: ADMIN_TOKEN },
      limits: { sendQueueBytes: SEND_QUEUE },
      servers: { s: scripted(marker, ['--tools', 'echo,fail']), t: scripted(marker, ['--tools', 'echo']) },
    },
    marker,
  );
});

afterAll(async () => {
  await gw?.stop();
  expect(await waitForNoProcesses(marker)).toEqual([]);
});

/** A subscriber over fetch: the events it has read so far, and a way to stop reading. */
async function follow(query: string, token: string = ADMIN_TOKEN): Promise<{ events: Record<string, any>[]; stop: () => void }> {
  const abort = new AbortController();
  const res = await fetch(`${gw.url}/admin/debug/stream${query}`, { headers: { authorization: `Bearer ${token}` }, signal: abort.signal });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toBe('text/event-stream');
  const events: Record<string, any>[] = [];
  void (async () => {
    let buffered = '';
    try {
      for await (const chunk of res.body!) {
        buffered += Buffer.from(chunk).toString();
        const parts = buffered.split('\n\n');
        buffered = parts.pop()!;
        for (const p of parts) if (p.startsWith('data: ')) events.push(JSON.parse(p.slice(6)));
      }
    } catch {
      // aborted
    }
  })();
  return { events, stop: () => abort.abort() };
}

const client = () => connectGateway(gw.url, 'streamable-http', { headers: { authorization: `Bearer ${CLIENT_KEY}`, 'x-request-id': 'debug-req-1' } });

test('refuses callers without the admin door, and bodies to an admin:read principal', async () => {
  const stream = `${gw.url}/admin/debug/stream`;
  expect((await fetch(stream)).status).toBe(401);
  expect((await fetch(stream, { headers: { authorization: `Bearer ${CLIENT_KEY}` } })).status).toBe(403);
  const reader = await fetch(`${stream}?bodies=1`, { headers: { authorization: `Bearer ${READER_KEY}` } });
  expect(reader.status).toBe(403);
  expect(await reader.text()).toContain('bodies=1 on /admin/debug/stream needs the role admin');
  const unknown = await fetch(`${stream}?colour=red`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
  expect(unknown.status).toBe(400);
  expect(await unknown.text()).toContain('unknown parameter \\"colour\\"');
  expect((await fetch(stream, { method: 'POST', headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })).status).toBe(405);
});

test('follows the calls of the server and tool asked for, with their ids, outcome and duration, without bodies; an admin:read principal may follow', async () => {
  const sub = await follow('?server=s&tool=echo', READER_KEY);
  const { client: c, close } = await client();
  try {
    await c.callTool({ name: 't__echo', arguments: {} });
    await c.callTool({ name: 's__fail', arguments: {} }).catch(() => undefined);
    await c.callTool({ name: 's__echo', arguments: { password: 'hunter2-secret' } });
    const end = await waitFor(() => sub.events.find((e) => e.type === 'call.end'), 'the call.end of s/echo');
    const start = sub.events.find((e) => e.type === 'call.start')!;
    expect(sub.events.map((e) => `${e.type} ${e.server}/${e.tool}`)).toEqual(['call.start s/echo', 'call.end s/echo']);
    expect(start).toMatchObject({ server: 's', backend: 'primary', method: 'tools/call', tool: 'echo', requestId: 'debug-req-1', principal: 'api-key:client' });
    expect(end).toMatchObject({ outcome: 'ok', ms: expect.any(Number), trace: start.trace });
    expect(start.trace).toMatch(/^[0-9a-f]{32}$/);
    const callLine = gw.logs.find((l) => l.msg === 'call' && l.trace === start.trace);
    expect(callLine).toMatchObject({ requestId: 'debug-req-1' });
    expect(JSON.stringify(sub.events)).not.toContain('hunter2');
  } finally {
    sub.stop();
    await close();
  }
});

test('with bodies=1 an admin sees arguments and results, secret-like keys masked; session events come too', async () => {
  const sub = await follow('?bodies=1');
  const { client: c, close } = await client();
  await c.callTool({ name: 's__echo', arguments: { text: 'visible', apiKey: 'hunter2-secret' } });
  await close();
  const closed = await waitFor(() => sub.events.find((e) => e.type === 'session.close'), 'the session.close event');
  sub.stop();
  const opened = sub.events.find((e) => e.type === 'session.open')!;
  expect(opened).toMatchObject({ front: 'streamable-http', principal: 'api-key:client', session: closed.session });
  const start = sub.events.find((e) => e.type === 'call.start')!;
  expect(start.arguments).toEqual({ text: 'visible', apiKey: '[masked]' });
  const end = sub.events.find((e) => e.type === 'call.end')!;
  expect(end.result).toBeDefined();
  expect(JSON.stringify(sub.events)).not.toContain('hunter2');
});

test('a subscriber that does not read is dropped at its bound, not buffered', async () => {
  const { port } = new URL(gw.url);
  const socket: Socket = connect(Number(port), '127.0.0.1');
  let received = 0;
  socket.on('data', (c: Buffer) => {
    received += c.length;
    socket.pause(); // reads the headers, then nothing more
  });
  socket.on('error', () => {});
  socket.write(`GET /admin/debug/stream HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${ADMIN_TOKEN}\r\n\r\n`);
  await waitFor(() => gw.events.subscriberCount === 1 && received > 0, 'the raw subscriber to be subscribed');
  const event = {
    type: 'call.end' as const,
    server: 's',
    backend: 'primary',
    method: 'tools/call',
    tool: 'echo',
    trace: 'f'.repeat(32),
    principal: 'p',
    client: 'c',
    outcome: 'ok',
    ms: 1,
  };
  // at most 64 MiB of events, far beyond the socket buffers and the bound: the drop comes long before
  for (let i = 0; i < 200_000 && gw.events.subscriberCount > 0; i++) {
    gw.events.publish({ ...event, requestId: `r-${i}`.padEnd(120, 'x') });
    if (i % 200 === 0) await new Promise((r) => setImmediate(r));
  }
  expect(gw.events.subscriberCount).toBe(0);
  expect(gw.events.dropped).toBe(1);
  await waitFor(() => gw.logs.find((l) => l.msg === 'debug stream subscriber does not read; dropped (limits.sendQueueBytes)'), 'the drop logged');
  const line = gw.logs.find((l) => l.msg === 'debug stream subscriber does not read; dropped (limits.sendQueueBytes)')!;
  // what it held is the bound plus at most one event
  expect(line.bufferedBytes as number).toBeLessThanOrEqual(SEND_QUEUE + 1024);
  socket.destroy();
});

/** scripts/mcp-debug.sh against the gateway: its stdout as it comes, its exit code, a way to stop it. */
function debugScript(args: string[], token: string = ADMIN_TOKEN) {
  const child = spawn('bash', [join(ROOT, 'scripts', 'mcp-debug.sh'), '--url', gw.url, ...args], {
    env: { ...process.env, MCP_FLEET_ADMIN_TOKEN: token, MCP_FLEET_ADMIN_TOKEN_FILE: '' },
    detached: true, // its own process group: curl and node die with it
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (err += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  return {
    out: () => out,
    err: () => err,
    exited,
    stop: async () => {
      if (child.exitCode === null) process.kill(-child.pid!, 'SIGTERM');
      await exited;
    },
  };
}

test('scripts/mcp-debug.sh prints one line per call event of its filter, and refuses a filter the stream does not take', async () => {
  const script = debugScript(['server=s']);
  try {
    await waitFor(() => gw.events.subscriberCount === 1, 'the script to subscribe');
    const { client: c, close } = await client();
    await c.callTool({ name: 's__echo', arguments: {} });
    await close();
    const end = await waitFor(
      () =>
        script
          .out()
          .split('\n')
          .find((l) => / call\.end +server=s backend=primary tool=echo outcome=ok ms=/.test(l)),
      'the call.end line',
    );
    expect(end).toContain('principal=api-key:client requestId=debug-req-1 trace=');
    expect(script.out()).toMatch(/^\d\d:\d\d:\d\d\.\d{3} call\.start +server=s backend=primary tool=echo principal=api-key:client/m);
  } finally {
    await script.stop();
  }
  const bad = debugScript(['colour=red']);
  expect(await bad.exited).not.toBe(0);
  expect(bad.err()).toContain('unknown parameter \\"colour\\" on /admin/debug/stream');
  const wrong = debugScript([], 'not-the-admin-token-0123456789abcdef');
  expect(await wrong.exited).not.toBe(0);
  expect(wrong.err()).toContain('returned error: 401');
  expect(wrong.err()).toContain('the bearer credential is not valid');
  await waitFor(() => gw.events.subscriberCount === 0, 'no subscriber left');
});
