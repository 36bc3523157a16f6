/**
 * A stdio client that does not read its stdout (issue 10, "Slow readers", at the stdio front): the
 * gateway CLI runs as a real child process whose stdout nobody reads while its upstream floods
 * progress notifications; it must not hold them all. Its RSS (read from /proc/PID/status while it
 * runs) stays bounded, and once `limits.sendQueueBytes` are waiting it drops the client: a log line
 * naming the limit, the upstream stopped, exit code 3. A client that reads gets an answer larger
 * than the bound, since with nothing waiting one message goes whatever its size.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectTransport } from '../../gateway/client/connect';
import { CLI_JS, newMarker, stdioGatewayTransport, tapEnv } from '../helpers/gateway';
import { LogCapture } from '../helpers/log-lines';
import { waitForNoProcesses } from '../helpers/processes';
import { INITIALIZE } from '../helpers/raw-peers';
import { scripted } from '../helpers/scripted';
import { everything, MARKER_VAR } from '../helpers/servers';

jest.setTimeout(120_000);

const MiB = 1024 * 1024;
const SEND_QUEUE = MiB;
/** 400 MB of notifications if all were held: far beyond the RSS bound below. */
const FLOOD = { name: 's__flood', arguments: { count: 200_000, bytes: 2000 } };
/** What the gateway may grow by while the flood runs: the bound, one message, the upstream's pipe and garbage not yet collected. */
const RSS_GROWTH_BOUND = 96 * MiB;

function rssBytes(pid: number): number | undefined {
  try {
    const kb = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kb === undefined ? undefined : Number(kb) * 1024;
  } catch {
    return undefined; // exited
  }
}

describe('a stdio client that does not read its stdout', () => {
  const marker = newMarker();
  let dir: string;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'mcp-fleet-stdio-slow-'));
  });

  afterAll(async () => {
    rmSync(dir, { recursive: true, force: true });
    expect(await waitForNoProcesses(marker)).toEqual([]);
  });

  it('is dropped at limits.sendQueueBytes with exit code 3, while the gateway RSS stays bounded', async () => {
    const config = join(dir, 'gw.json');
    writeFileSync(config, JSON.stringify({ limits: { sendQueueBytes: SEND_QUEUE }, servers: { s: scripted(marker, ['--tools', 'echo,flood']) } }));
    const child = spawn(process.execPath, [CLI_JS, '--stdio', '--config', config], {
      env: { PATH: process.env.PATH ?? '', [MARKER_VAR]: marker, ...tapEnv() },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const log = new LogCapture();
    child.stderr.on('data', (c: Buffer) => log.feed(c));
    try {
      // read until initialize is answered, then never again
      const answered = new Promise<void>((resolve) => {
        let seen = '';
        const onData = (c: Buffer) => {
          seen += c.toString();
          if (!seen.includes('\n')) return;
          child.stdout.off('data', onData);
          child.stdout.pause();
          resolve();
        };
        child.stdout.on('data', onData);
      });
      child.stdin.write(`${JSON.stringify(INITIALIZE)}\n`);
      await answered;
      child.stdin.write(`${JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' })}\n`);
      const baseline = rssBytes(child.pid!)!;
      child.stdin.write(`${JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { ...FLOOD, _meta: { progressToken: 'p' } } })}\n`);
      let peak = baseline;
      let code: number | null | undefined;
      void exited.then((c) => (code = c));
      while (code === undefined) {
        peak = Math.max(peak, rssBytes(child.pid!) ?? 0);
        await new Promise((r) => setTimeout(r, 20));
      }
      // 'exit' can come before the last of stderr is read
      const drop = await log.waitFor((l) => String(l.msg).startsWith('client does not read its stdout: dropped (limits.sendQueueBytes)'), 'the drop');
      expect(drop).toMatchObject({ sendQueueBytes: SEND_QUEUE, queuedBytes: expect.any(Number) });
      expect(drop.queuedBytes as number).toBeLessThanOrEqual(SEND_QUEUE);
      expect(await log.waitFor((l) => l.msg === 'shutting down', 'the shutdown')).toMatchObject({ reason: 'stdout not read (limits.sendQueueBytes)' });
      expect(code).toBe(3);
      expect(peak - baseline).toBeLessThan(RSS_GROWTH_BOUND);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      await exited;
    }
    expect(await waitForNoProcesses(marker)).toEqual([]);
  });

  it('a client that reads gets one answer larger than the bound', async () => {
    const doc = { limits: { sendQueueBytes: SEND_QUEUE }, servers: { ev: everything(marker) } };
    const { client, close } = await connectTransport(stdioGatewayTransport(doc, marker), 'the gateway CLI over stdio', { name: 'reader', version: '1.0.0' });
    try {
      const message = 'r'.repeat(3 * MiB);
      const result = (await client.callTool({ name: 'ev__echo', arguments: { message } })) as { content: { text: string }[] };
      expect(result.content[0].text.length).toBeGreaterThan(3 * MiB);
    } finally {
      await close();
    }
  });
});
