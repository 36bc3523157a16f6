/**
 * The gateway's log is written to stderr asynchronously (gateway/log.ts). Its stderr is a socket
 * here, as it is a pipe under Docker or a supervisor, and Node makes it non-blocking: written
 * synchronously, a full buffer (a log reader that lags or stops) made sonic-boom sleep 100 ms with
 * the event loop held, over and over, so the gateway answered nothing until the reader read again.
 */
import { rmSync } from 'node:fs';
import { newMarker } from '../helpers/gateway';
import { spawnGateway } from '../helpers/gateway-process';
import { waitForNoProcesses } from '../helpers/processes';
import { rawSession } from '../helpers/raw-http';
import { scripted } from '../helpers/scripted';
import { waitFor } from '../helpers/wait';

/** Each call leaves a `call` line of about 300 bytes: 3,000 of them fill a socket's buffer (about 200 KiB) several times over. */
const CALLS = 3000;
const IN_FLIGHT = 8;

test('calls are answered while nobody reads the log, and every call line arrives once the reader reads again', async () => {
  const marker = newMarker();
  const { child, url, logs, dir } = await spawnGateway({ servers: { s: scripted(marker, ['--tools', 'echo']) } }, marker);
  try {
    const session = await rawSession(`${url}/mcp`);
    child.stderr!.pause(); // nothing reads the gateway's stderr from here on
    const texts: string[] = [];
    await Promise.all(
      Array.from({ length: IN_FLIGHT }, async (_, worker) => {
        for (let i = worker; i < CALLS; i += IN_FLIGHT) {
          const reply = await session.call('tools/call', { name: 's__echo', arguments: {} });
          texts.push(reply.result.content[0].text);
        }
      }),
    );
    expect(texts).toHaveLength(CALLS);
    expect(new Set(texts)).toEqual(new Set(['scripted:echo']));

    child.stderr!.resume();
    const callLines = () => logs.filter((l) => l.msg === 'call' && l.method === 'tools/call');
    await waitFor(() => callLines().length === CALLS, `${CALLS} call lines on stderr`);
    expect(callLines().every((l) => l.outcome === 'ok')).toBe(true);
  } finally {
    const exited = new Promise((r) => child.once('close', r));
    child.kill('SIGTERM');
    await exited;
    rmSync(dir, { recursive: true, force: true });
  }
  expect(await waitForNoProcesses(marker)).toEqual([]);
});
