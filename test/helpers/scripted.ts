/** Config entry for the scripted test server (test/fixtures/scripted-server.ts, built to dist), and what its log lines tell. */
import { join } from 'node:path';
import { MARKER_VAR } from './servers';
import { ROOT } from '../containers/support/docker';

export const SCRIPTED_JS = join(ROOT, 'dist', 'test', 'fixtures', 'scripted-server.js');

export function scripted(marker: string, serverArgs: string[] = [], extra: Record<string, unknown> = {}) {
  return {
    command: process.execPath,
    args: [SCRIPTED_JS, ...serverArgs],
    env: { [MARKER_VAR]: marker },
    restart: { initialDelayMs: 100, maxDelayMs: 1000 },
    ...extra,
  };
}

/** Whether a log line is the gateway's copy of `server`'s stderr telling that a `sleep` call started (`sleeping <id>`). */
export const sleeping =
  (server: string) =>
  (l: Record<string, unknown>): boolean =>
    l.server === server && l.stream === 'stderr' && String(l.msg).startsWith('sleeping ');

/** How many `sleep` calls `server` has started, as the gateway's log of its stderr tells. */
export function sleepsStarted(logs: readonly Record<string, unknown>[], server: string): number {
  return logs.filter(sleeping(server)).length;
}
