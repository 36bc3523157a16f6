/**
 * Starts what the suite runs against and finds its MCP endpoint: the fixture server over HTTP, and
 * the gateway in front of the fixture, over stdio (where the fixture answers the gateway's probe as
 * a 2026-07-28 server) or over Streamable HTTP pinned to 2025-11-25. Everything listens on port 0
 * and says where on an output line, so no port is ever guessed.
 */
import type { ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LineLog, parseJsonLine } from './line-log';
import type { ProcessSet } from './processes';

const START_TIMEOUT_MS = 30_000;

export interface Target {
  url: string;
  /** What to stop when the suites are done, in this order. */
  children: ChildProcess[];
}

/** Paths inside the built project (dist/). */
export interface Build {
  fixtureScript: string;
  gatewayCli: string;
}

/** The fixture over Streamable HTTP on a free loopback port. */
export async function startFixture(processes: ProcessSet, build: Build, workDir: string): Promise<Target> {
  const stderr = openSync(join(workDir, 'fixture.stderr.log'), 'w');
  const child = processes.spawn(process.execPath, [build.fixtureScript, '--port', '0', '--host', '127.0.0.1'], {
    stdio: ['ignore', 'pipe', stderr],
  });
  closeSync(stderr);
  const stdout = new LineLog(child.stdout!, join(workDir, 'fixture.stdout.log'));
  const url = await stdout.waitFor(
    (line) => {
      const event = parseJsonLine(line);
      return event?.event === 'listening' && typeof event.url === 'string' ? event.url : undefined;
    },
    { child, timeoutMs: START_TIMEOUT_MS, what: 'the fixture "listening" line' },
  );
  return { url, children: [child] };
}

/**
 * The gateway (dist/gateway/cli.js) with one server, the fixture over stdio, unprefixed so the suite
 * finds its names unchanged; with `protocol: auto` the gateway's server/discover probe finds a
 * 2026-07-28 server. Its pino log goes to stderr; the "gateway listening" line carries the URL.
 */
export function startGateway(processes: ProcessSet, build: Build, workDir: string): Promise<Target> {
  return gatewayIn(processes, build, workDir, { command: process.execPath, args: [build.fixtureScript, '--stdio'], prefix: false }, []);
}

/**
 * The gateway in front of the fixture over Streamable HTTP, pinned to 2025-11-25: a shared 2025
 * upstream session, whose server requests the gateway routes by the POST stream they arrive on.
 */
export async function startGatewayOverHttp(processes: ProcessSet, build: Build, workDir: string): Promise<Target> {
  const fixture = await startFixture(processes, build, workDir);
  try {
    const server = { url: fixture.url, transport: 'streamable-http', protocol: '2025-11-25', prefix: false };
    return await gatewayIn(processes, build, workDir, server, fixture.children);
  } catch (err) {
    for (const child of fixture.children) await processes.stop(child);
    throw err;
  }
}

async function gatewayIn(processes: ProcessSet, build: Build, workDir: string, server: Record<string, unknown>, upstream: ChildProcess[]): Promise<Target> {
  if (!existsSync(build.gatewayCli)) throw new Error(`gateway is not built: ${build.gatewayCli} does not exist`);
  const configFile = join(workDir, 'gateway.json');
  writeFileSync(configFile, `${JSON.stringify({ servers: { fixture: server } }, null, 2)}\n`);

  const stdout = openSync(join(workDir, 'gateway.stdout.log'), 'w');
  const child = processes.spawn(process.execPath, [build.gatewayCli, '--config', configFile, '--listen', '127.0.0.1:0'], {
    stdio: ['ignore', stdout, 'pipe'],
  });
  closeSync(stdout);
  const stderr = new LineLog(child.stderr!, join(workDir, 'gateway.stderr.log'));
  try {
    const base = await stderr.waitFor(
      (line) => {
        const entry = parseJsonLine(line);
        return entry?.msg === 'gateway listening' && typeof entry.url === 'string' ? entry.url : undefined;
      },
      { child, timeoutMs: START_TIMEOUT_MS, what: 'a "gateway listening" log line' },
    );
    // the gateway first, then what it fronts: nothing it still talks to goes away under it
    return { url: `${base.replace(/\/+$/, '')}/mcp`, children: [child, ...upstream] };
  } catch (err) {
    await processes.stop(child);
    throw new Error(`${(err as Error).message}; last gateway stderr lines:\n${stderr.recent() || '(none)'}`, { cause: err });
  }
}
