/**
 * The project's SDK v2 servers as upstreams for gateway tests: the conformance fixture (serving
 * 2025-11-25 and 2026-07-28) as a config entry over stdio or as a process over Streamable HTTP,
 * and the small stateless 2026-07-28 counter server (a resource that changes) over HTTP. Each HTTP
 * one listens on a free port and prints its URL on a "listening" line; it is killed with its group.
 * All carry the test's marker, so leak checks find them.
 */
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { STATE_KEY_ENV } from '../conformance/fixtures/request-state';
import { killGroup, type RemoteServer } from './remote-servers';
import { MARKER_VAR } from './servers';

export const FIXTURE_JS = resolve(__dirname, '..', '..', 'dist', 'test', 'conformance', 'fixture-server.js');
export const COUNTER_JS = resolve(__dirname, '..', '..', 'dist', 'test', 'fixtures', 'modern-counter-server.js');

export function fixtureStdio(marker: string, extra: Record<string, unknown> = {}) {
  return { command: process.execPath, args: [FIXTURE_JS, '--stdio'], env: { [MARKER_VAR]: marker }, ...extra };
}

/** The counter server over stdio, as a config entry. */
export function counterStdio(marker: string, extra: Record<string, unknown> = {}) {
  return { command: process.execPath, args: [COUNTER_JS, '--stdio'], env: { [MARKER_VAR]: marker }, ...extra };
}

/**
 * Starts the conformance fixture over Streamable HTTP on a free loopback port. `stateKey` fixes its
 * requestState signing key (MCP_FIXTURE_STATE_KEY): fixtures given the same one open each other's states.
 */
export function startFixtureHttp(marker: string, stateKey?: string): Promise<RemoteServer> {
  return startListening([FIXTURE_JS, '--port', '0'], marker, stateKey === undefined ? {} : { [STATE_KEY_ENV]: stateKey });
}

/** Starts the stateless counter server (test/fixtures/modern-counter-server.ts), on `port` if given. */
export function startCounterHttp(marker: string, port?: number): Promise<RemoteServer> {
  return startListening(port === undefined ? [COUNTER_JS] : [COUNTER_JS, '--port', String(port)], marker);
}

async function startListening(args: string[], marker: string, env: Record<string, string> = {}): Promise<RemoteServer> {
  const child = spawn(process.execPath, args, {
    env: { ...process.env, ...env, [MARKER_VAR]: marker },
    stdio: ['ignore', 'pipe', 'ignore'],
    detached: true,
  });
  const url = await new Promise<string>((resolveUrl, reject) => {
    const lines = createInterface({ input: child.stdout });
    lines.on('line', (line) => {
      const event = JSON.parse(line) as { event?: string; url?: string };
      if (event.event === 'listening' && typeof event.url === 'string') resolveUrl(event.url);
    });
    child.once('exit', (code) => reject(new Error(`${args[0]} exited with ${code} before listening`)));
  });
  return {
    url,
    port: Number(new URL(url).port),
    child,
    stop: () => killGroup(child),
  };
}
