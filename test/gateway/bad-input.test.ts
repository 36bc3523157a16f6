/**
 * Every bad input gets a clear error with the right JSON-RPC code and HTTP status, is logged, and
 * leaves the gateway serving everyone else.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { CLI_JS, newMarker, startTestGateway, type TestGateway } from '../helpers/gateway';
import { postRaw, rawSession } from '../helpers/raw-http';
import { scripted } from '../helpers/scripted';
import { MARKER_VAR } from '../helpers/servers';
import { waitForNoProcesses } from '../helpers/processes';
import { waitFor } from '../helpers/wait';

/** The `index`th reply a raw peer got, once it came. */
function reply(replies: readonly any[], index: number): Promise<any> {
  return waitFor(() => replies[index], `reply ${index + 1} of the gateway`, 10_000, 10);
}

describe('bad input over HTTP and WebSocket', () => {
  let gw: TestGateway;
  let mcp: string;
  let good: Awaited<ReturnType<typeof rawSession>>;
  const marker = newMarker();

  beforeAll(async () => {
    gw = await startTestGateway({ http: { maxBodyBytes: 2048 }, servers: { s: scripted(marker, ['--tools', 'echo']) } }, marker);
    mcp = `${gw.url}/mcp`;
    good = await rawSession(mcp);
  });

  afterEach(async () => {
    // whatever the bad input was, a well-behaved session still works
    const r = await good.call('tools/call', { name: 's__echo', arguments: {} });
    expect(r.result.content[0].text).toBe('scripted:echo');
  });

  afterAll(async () => {
    await good?.close();
    await gw?.stop();
    expect(await waitForNoProcesses(marker)).toEqual([]);
  });

  it('answers malformed JSON with 400 and -32700', async () => {
    const r = await postRaw(mcp, '{"jsonrpc": "2.0", "id": 1, "method": ', good.headers);
    expect(r.status).toBe(400);
    expect(r.messages[0].error).toMatchObject({ code: -32700, message: expect.stringContaining('not valid JSON') });
    expect(gw.logs.some((l) => l.msg === 'HTTP request refused' && l.code === 'PARSE_ERROR')).toBe(true);
  });

  it('answers an invalid JSON-RPC envelope with 400 and -32600 saying what is wrong', async () => {
    const r = await postRaw(mcp, JSON.stringify({ jsonrpc: '1.0', id: 1, method: 'tools/list' }), good.headers);
    expect(r.status).toBe(400);
    expect(r.messages[0].error).toMatchObject({ code: -32600, message: expect.stringContaining('"jsonrpc" must be "2.0"') });
    const batch = await postRaw(mcp, '[]', good.headers);
    expect(batch.messages[0].error.code).toBe(-32600);
  });

  it('answers an unknown method with -32601 naming it', async () => {
    const r = await good.call('tools/explode');
    expect(r.error).toMatchObject({ code: -32601, message: 'Method not found: tools/explode' });
  });

  it('answers a body over http.maxBodyBytes with 413', async () => {
    const big = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 's__echo', arguments: { pad: 'x'.repeat(4096) } } });
    const r = await postRaw(mcp, big, good.headers);
    expect(r.status).toBe(413);
    expect(r.messages[0].error.message).toContain('2048 bytes');
  });

  it('answers an unknown session with 404 and a missing one with 400', async () => {
    const unknown = await postRaw(mcp, JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }), { 'mcp-session-id': 'no-such-session' });
    expect(unknown.status).toBe(404);
    expect(unknown.messages[0].error.message).toContain('Session not found: no-such-…');
    const missing = await postRaw(mcp, JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }));
    expect(missing.status).toBe(400);
    expect(missing.messages[0].error.message).toContain('Mcp-Session-Id header is required');
  });

  it('refuses a foreign Origin with 403 on HTTP and on the WebSocket upgrade', async () => {
    const r = await postRaw(mcp, JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }), { ...good.headers, origin: 'http://evil.example' });
    expect(r.status).toBe(403);
    expect(r.messages[0].error.message).toContain('Origin http://evil.example is not allowed');
    const status = await new Promise<number>((resolve) => {
      const ws = new WebSocket(`${gw.url.replace('http', 'ws')}/ws`, 'mcp', { origin: 'http://evil.example' });
      ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.on('open', () => resolve(101));
      ws.on('error', () => {});
    });
    expect(status).toBe(403);
  });

  it('answers bad WebSocket frames with JSON-RPC errors and keeps the socket usable', async () => {
    const ws = new WebSocket(`${gw.url.replace('http', 'ws')}/ws`, 'mcp');
    await new Promise((r) => ws.once('open', r));
    const replies: any[] = [];
    ws.on('message', (d) => replies.push(JSON.parse(d.toString())));
    ws.send('{not json');
    expect((await reply(replies, 0)).error.code).toBe(-32700);
    ws.send(JSON.stringify({ jsonrpc: '2.0', id: 5 }));
    expect(await reply(replies, 1)).toMatchObject({ id: 5, error: { code: -32600 } });
    ws.send(
      JSON.stringify({
        jsonrpc: '2.0',
        id: 6,
        method: 'initialize',
        params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'ws', version: '1' } },
      }),
    );
    expect(await reply(replies, 2)).toMatchObject({ id: 6, result: { serverInfo: { name: 'mcp-fleet-gateway' } } });
    expect(replies).toHaveLength(3); // one reply per frame
    ws.close();
  });
});

describe('bad input over stdio', () => {
  it('answers garbage lines with -32700/-32600 on stdout and keeps serving', async () => {
    const marker = newMarker();
    const dir = mkdtempSync(join(tmpdir(), 'mcp-fleet-stdio-'));
    const file = join(dir, 'gw.json');
    writeFileSync(file, JSON.stringify({ servers: { s: scripted(marker, ['--tools', 'echo']) } }));
    const child = spawn(process.execPath, [CLI_JS, '--stdio', '--config', file], {
      env: { ...process.env, [MARKER_VAR]: marker },
      stdio: ['pipe', 'pipe', 'ignore'],
    });
    const lines: any[] = [];
    let buf = '';
    child.stdout.on('data', (c: Buffer) => {
      buf += c.toString();
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        lines.push(JSON.parse(buf.slice(0, i)));
        buf = buf.slice(i + 1);
      }
    });
    child.stdin.write('garbage\n');
    expect((await reply(lines, 0)).error.code).toBe(-32700);
    child.stdin.write('{"jsonrpc":"2.0","id":"x"}\n');
    expect((await reply(lines, 1)).error.code).toBe(-32600);
    child.stdin.write(
      JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'initialize',
        params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'c', version: '1' } },
      }) + '\n',
    );
    expect(await reply(lines, 2)).toMatchObject({ id: 1, result: { protocolVersion: '2025-06-18' } });
    expect(lines).toHaveLength(3); // one reply per line
    const exited = new Promise((r) => child.once('exit', r));
    child.stdin.end();
    await exited;
    expect(await waitForNoProcesses(marker)).toEqual([]);
  });
});
