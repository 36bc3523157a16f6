/** Finds processes by the marker variable in their environment (/proc), to prove nothing leaked. */
import { readdirSync, readFileSync } from 'node:fs';
import { MARKER_VAR } from './servers';

export function processesWithMarker(marker: string): number[] {
  const needle = `${MARKER_VAR}=${marker}`;
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const env = readFileSync(`/proc/${entry}/environ`, 'utf8');
      if (env.split('\0').includes(needle)) pids.push(Number(entry));
    } catch {
      // the process ended while we looked
    }
  }
  return pids;
}

/** Waits until no process carries the marker; returns the ones still alive after `timeoutMs`. */
export async function waitForNoProcesses(marker: string, timeoutMs = 10_000): Promise<number[]> {
  const deadline = Date.now() + timeoutMs;
  let left = processesWithMarker(marker);
  while (left.length > 0 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
    left = processesWithMarker(marker);
  }
  return left;
}
