/**
 * Process hygiene: stdio upstreams run in their own process group and the whole tree dies with
 * them (npx grandchildren included); SIGTERM drains in-flight calls before stopping; per-session
 * upstreams end with their session. Each test proves no process is left.
 */
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { connectClient, disconnect, newMarker, startTestGateway } from '../helpers/gateway';
import { spawnGateway } from '../helpers/gateway-process';
import { rawSession } from '../helpers/raw-http';
import { scripted, sleeping } from '../helpers/scripted';
import { MARKER_VAR } from '../helpers/servers';
import { processesWithMarker, waitForNoProcesses } from '../helpers/processes';
import { waitFor } from '../helpers/wait';

const PROJECT_ROOT = resolve(__dirname, '..', '..');

describe('shutdown and process hygiene', () => {
  it('drains on SIGTERM: an in-flight call finishes, new sessions are refused, then every process is gone', async () => {
    const marker = newMarker();
    const { child, url, logs, waitForLog, dir } = await spawnGateway({ servers: { s: scripted(marker) } }, marker);
    const session = await rawSession(`${url}/mcp`);
    expect(processesWithMarker(marker).length).toBe(2); // the gateway and its one upstream
    const slow = session.call('tools/call', { name: 's__sleep', arguments: { ms: 1500 } });
    await waitForLog(sleeping('s'), 'the call to run upstream');
    const exited = new Promise<number | null>((r) => child.once('close', (code) => r(code))); // after its last log line
    child.kill('SIGTERM');
    // the gateway stops accepting before it logs that it drains
    const draining = await waitForLog((l) => l.msg === 'draining', 'the gateway to drain');
    expect(draining.inFlight).toBe(1);
    await expect(rawSession(`${url}/mcp`)).rejects.toThrow(); // no new sessions while draining
    const response = await slow;
    expect(response.result.content[0].text).toBe('slept 1500');
    expect(await exited).toBe(0);
    expect(logs.map((l) => l.msg)).toEqual(expect.arrayContaining(['draining', 'gateway stopped']));
    expect(await waitForNoProcesses(marker)).toEqual([]);
    rmSync(dir, { recursive: true, force: true });
  });

  it('cancels calls still running at the drain deadline and still exits cleanly', async () => {
    const marker = newMarker();
    const { child, url, logs, waitForLog, dir } = await spawnGateway({ shutdown: { drainTimeoutMs: 300 }, servers: { s: scripted(marker) } }, marker);
    const session = await rawSession(`${url}/mcp`);
    const stuck = session.call('tools/call', { name: 's__sleep', arguments: { ms: 60_000 } }).catch((err: Error) => err);
    await waitForLog(sleeping('s'), 'the call to run upstream');
    const exited = new Promise<number | null>((r) => child.once('close', (code) => r(code))); // after its last log line
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(await stuck).toMatchObject({ error: { code: -32000, message: 'the gateway closed this session before the call finished' } });
    expect(logs.find((l) => l.msg === 'drain deadline passed; cancelling the calls still running')).toMatchObject({ inFlight: 1 });
    expect(await waitForNoProcesses(marker)).toEqual([]);
    rmSync(dir, { recursive: true, force: true });
  });

  it('kills npx grandchildren with their server', async () => {
    const marker = newMarker();
    const gw = await startTestGateway(
      {
        servers: {
          memory: {
            command: 'npx',
            args: ['--no-install', 'mcp-server-memory'],
            cwd: PROJECT_ROOT,
            env: { [MARKER_VAR]: marker, MEMORY_FILE_PATH: join(tmpdir(), `${marker}.jsonl`) },
          },
        },
      },
      marker,
    );
    const client = await connectClient(gw, 'streamable-http');
    expect((await client.listTools()).tools.map((t) => t.name)).toContain('memory__read_graph');
    // npx runs the server as a child of its own: at least two processes in the tree
    expect(processesWithMarker(marker).length).toBeGreaterThanOrEqual(2);
    await client.close();
    await gw.stop();
    expect(await waitForNoProcesses(marker)).toEqual([]);
  });

  it('starts per-session upstreams with their session and stops them when it ends', async () => {
    const marker = newMarker();
    const gw = await startTestGateway({ servers: { own: scripted(marker, ['--tools', 'echo'], { mode: 'per-session' }) } }, marker);
    try {
      expect(processesWithMarker(marker)).toEqual([]);
      const a = await connectClient(gw, 'streamable-http');
      const b = await connectClient(gw, 'websocket');
      expect(processesWithMarker(marker).length).toBe(2);
      expect(await a.callTool({ name: 'own__echo', arguments: {} })).toMatchObject({ content: [{ text: 'scripted:echo' }] });
      await disconnect(a);
      await waitFor(() => processesWithMarker(marker).length === 1, "the ended session's upstream to stop");
      expect(await b.callTool({ name: 'own__echo', arguments: {} })).toMatchObject({ content: [{ text: 'scripted:echo' }] });
      await b.close();
      expect(await waitForNoProcesses(marker)).toEqual([]);
    } finally {
      await gw.stop();
    }
  });
});
