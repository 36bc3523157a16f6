/**
 * A real Temporal dev server for one test file: headless, on a free port, with a temporary SQLite
 * file, started by the test and killed after it.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { ensureTemporal, type TemporalHandle } from '../../pipeline/temporal-server';
import { freePort } from '../helpers/ports';

export interface TestTemporal extends TemporalHandle {
  dir: string;
}

/** Worker logs at WARN, so test output shows problems, not state changes. Once per process. */
function quietRuntime(): void {
  try {
    Runtime.install({ logger: new DefaultLogger('WARN') });
  } catch {
    // already installed in this jest worker process
  }
}

export async function startTestTemporal(): Promise<TestTemporal> {
  quietRuntime();
  const dir = mkdtempSync(join(tmpdir(), 'mcp-fleet-temporal-'));
  const port = await freePort();
  const handle = await ensureTemporal({
    namespace: 'default',
    local: { port, headless: true, dbFile: join(dir, 'temporal.db'), logFile: join(dir, 'temporal.log'), startTimeoutMs: 90_000 },
  });
  if (!handle.started) throw new Error(`expected to start a dev server on free port ${port}`);
  return {
    ...handle,
    dir,
    async stop() {
      await handle.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Live processes whose command line mentions `needle` (the test's temp dir), to prove nothing leaked. */
export function processesMentioning(needle: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmd = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      if (cmd.includes(needle) && !/\) Z /.test(stat)) pids.push(Number(entry));
    } catch {
      // ended while we looked
    }
  }
  return pids;
}
