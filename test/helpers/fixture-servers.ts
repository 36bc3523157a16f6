/**
 * The project's conformance fixture (an SDK v2 server serving 2025-11-25 and 2026-07-28) as an
 * upstream for gateway tests: a config entry for it over stdio, or a process serving it over
 * Streamable HTTP on a free port (it prints the URL on a "listening" line), killed with its group.
 * Both carry the test's marker, so leak checks find them.
 */
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { killGroup, type RemoteServer } from './remote-servers';
import { MARKER_VAR } from './servers';

export const FIXTURE_JS = resolve(__dirname, '..', '..', 'dist', 'test', 'conformance', 'fixture-server.js');

export function fixtureStdio(marker: string, extra: Record<string, unknown> = {}) {
  return { command: process.execPath, args: [FIXTURE_JS, '--stdio'], env: { [MARKER_VAR]: marker }, ...extra };
}

/** Starts the fixture over Streamable HTTP on a free loopback port. */
export async function startFixtureHttp(marker: string): Promise<RemoteServer> {
  const child = spawn(process.execPath, [FIXTURE_JS, '--port', '0'], {
    env: { ...process.env, [MARKER_VAR]: marker },
    stdio: ['ignore', 'pipe', 'ignore'],
    detached: true,
  });
  const url = await new Promise<string>((resolveUrl, reject) => {
    const lines = createInterface({ input: child.stdout });
    lines.on('line', (line) => {
      const event = JSON.parse(line) as { event?: string; url?: string };
      if (event.event === 'listening' && typeof event.url === 'string') resolveUrl(event.url);
    });
    child.once('exit', (code) => reject(new Error(`the fixture server exited with ${code} before listening`)));
  });
  return {
    url,
    port: Number(new URL(url).port),
    child,
    stop: () => killGroup(child),
  };
}
