/**
 * The gateway's log is written to stderr asynchronously, with a bound (gateway/log.ts). Its stderr
 * is a socket here, as it is a pipe under Docker or a supervisor, and Node makes it non-blocking:
 * written synchronously, a full buffer (a log reader that lags or stops) made sonic-boom sleep
 * 100 ms with the event loop held, over and over, so the gateway answered nothing until the reader
 * read again. What waits for the reader is written out when the process exits, a fatal start too;
 * past the bound lines are dropped, counted and told once the reader caught up.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Writable } from 'node:stream';
import { createLogger, LOG_BUFFER_BYTES, logLinesDropped } from '../../gateway/log';
import { CLI_JS, newMarker } from '../helpers/gateway';
import { spawnGateway } from '../helpers/gateway-process';
import { LogCapture } from '../helpers/log-lines';
import { scrapeMetrics, sampleValue } from '../helpers/metrics';
import { waitForNoProcesses } from '../helpers/processes';
import { rawSession } from '../helpers/raw-http';
import { scripted } from '../helpers/scripted';
import { MARKER_VAR } from '../helpers/servers';
import { waitFor } from '../helpers/wait';

/** Each call leaves a `call` line of about 300 bytes: 3,000 of them fill a socket's buffer (about 200 KiB) several times over. */
const CALLS = 3000;
const IN_FLIGHT = 8;

test('calls are answered while nobody reads the log; every call line arrives once the reader reads again, and at exit', async () => {
  const marker = newMarker();
  const { child, url, logs, dir } = await spawnGateway({ servers: { s: scripted(marker, ['--tools', 'echo']) } }, marker);
  const exited = new Promise<number | null>((r) => child.once('close', (code) => r(code))); // after its last log line
  try {
    const session = await rawSession(`${url}/mcp`);
    const callMany = async () => {
      const texts: string[] = [];
      await Promise.all(
        Array.from({ length: IN_FLIGHT }, async (_, worker) => {
          for (let i = worker; i < CALLS; i += IN_FLIGHT) {
            const reply = await session.call('tools/call', { name: 's__echo', arguments: {} });
            texts.push(reply.result.content[0].text);
          }
        }),
      );
      return texts;
    };
    const callLines = () => logs.filter((l) => l.msg === 'call' && l.method === 'tools/call');

    child.stderr!.pause(); // nothing reads the gateway's stderr from here on
    const texts = await callMany();
    expect(texts).toHaveLength(CALLS);
    expect(new Set(texts)).toEqual(new Set(['scripted:echo']));
    child.stderr!.resume();
    await waitFor(() => callLines().length === CALLS, `${CALLS} call lines on stderr`);

    // again, and the gateway told to stop while its lines still wait: it writes them out before it exits
    child.stderr!.pause();
    expect(await callMany()).toHaveLength(CALLS);
    expect(sampleValue(await scrapeMetrics({ url }), 'mcp_gateway_log_lines_dropped_total')).toBe(0);
    child.kill('SIGTERM');
    child.stderr!.resume();
    expect(await exited).toBe(0);
    expect(callLines()).toHaveLength(2 * CALLS);
    expect(callLines().every((l) => l.outcome === 'ok')).toBe(true);
    expect(logs.at(-1)).toMatchObject({ msg: 'gateway stopped' });
    expect(logs.filter((l) => String(l.msg).startsWith('log lines dropped'))).toEqual([]);
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
    await exited;
    rmSync(dir, { recursive: true, force: true });
  }
  expect(await waitForNoProcesses(marker)).toEqual([]);
});

test('a gateway that cannot start still writes its fatal line before it exits', async () => {
  const taken = createServer();
  await new Promise<void>((r) => taken.listen(0, '127.0.0.1', r));
  const dir = mkdtempSync(join(tmpdir(), 'mcp-fleet-gw-'));
  const marker = newMarker();
  try {
    writeFileSync(join(dir, 'gw.json'), JSON.stringify({ servers: { s: scripted(marker, ['--tools', 'echo']) } }));
    const listen = `127.0.0.1:${(taken.address() as AddressInfo).port}`;
    const child = spawn(process.execPath, [CLI_JS, '--config', join(dir, 'gw.json'), '--listen', listen], {
      env: { ...process.env, [MARKER_VAR]: marker },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    const log = new LogCapture();
    const other: string[] = [];
    child.stderr.on('data', (chunk: Buffer) => log.feed(chunk, (text) => other.push(text)));
    const code = await new Promise<number | null>((r) => child.once('close', r));
    expect(code).toBe(1);
    expect(log.lines.find((l) => l.level === 60)).toMatchObject({ msg: expect.stringMatching(/^cannot start: .*EADDRINUSE/) });
    expect(other.join('\n')).toMatch(/^mcp-gateway: cannot start: .*EADDRINUSE/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await new Promise((r) => taken.close(r));
  }
  expect(await waitForNoProcesses(marker)).toEqual([]);
});

/** `cat`, stopped with SIGSTOP: a real reader of a socket that lags for as long as the test says; what it read comes out of its stdout. */
function laggingReader() {
  const cat = spawn('cat', [], { stdio: ['pipe', 'pipe', 'ignore'] });
  const read = new LogCapture();
  cat.stdout.on('data', (chunk: Buffer) => read.feed(chunk));
  const closed = new Promise((r) => cat.once('close', r));
  const stdin = cat.stdin as Writable & { _handle: { fd: number } };
  return {
    fd: stdin._handle.fd,
    read,
    stop: () => cat.kill('SIGSTOP'),
    go: () => cat.kill('SIGCONT'),
    end: async () => {
      cat.kill('SIGCONT');
      cat.kill('SIGTERM');
      await closed;
    },
  };
}

test('past the buffer lines are dropped, never the process held: counted, and told in one line once the reader caught up', async () => {
  const reader = laggingReader();
  try {
    reader.stop();
    const log = createLogger('info', reader.fd);
    const before = logLinesDropped();
    const pad = 'x'.repeat(1000);
    /** About 1 KiB a line: enough lines to fill the buffer one and a half times. */
    const lines = Math.ceil((1.5 * LOG_BUFFER_BYTES) / 1024);
    for (let i = 0; i < lines; i++) log.info({ i, pad }, 'line');
    // all of that was taken without waiting for the reader: the rest past the bound was dropped
    const dropped = logLinesDropped() - before;
    expect(dropped).toBeGreaterThan(0);
    expect(dropped).toBeLessThan(lines);

    reader.go();
    const told = await reader.read.waitFor((l) => String(l.msg).startsWith('log lines dropped'), 'the drops told', { timeoutMs: 30_000 });
    expect(told).toMatchObject({ level: 40, dropped, bufferBytes: LOG_BUFFER_BYTES });
    const written = reader.read.lines.filter((l) => l.msg === 'line');
    // the lines that were kept arrive whole and in order, the first ones first
    expect(written.length + dropped).toBe(lines);
    expect(written.map((l) => l.i)).toEqual(Array.from({ length: written.length }, (_, i) => i));
  } finally {
    await reader.end();
  }
});
