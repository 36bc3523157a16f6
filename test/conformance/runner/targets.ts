/**
 * Starts the two things the suite runs against and finds their MCP endpoint: the fixture server
 * over HTTP, and the gateway in front of the fixture over stdio. Both listen on port 0 and say
 * where on an output line, so no port is ever guessed.
 */
import type { ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LineLog, parseJsonLine } from './line-log';
import type { ProcessSet } from './processes';

const START_TIMEOUT_MS = 30_000;

export interface Target {
  url: string;
  child: ChildProcess;
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
  return { url, child };
}

/**
 * The gateway (dist/gateway/cli.js) with one server, the fixture over stdio, unprefixed so the suite
 * finds its names unchanged. Its pino log goes to stderr; the "gateway listening" line carries the URL.
 */
export async function startGateway(processes: ProcessSet, build: Build, workDir: string): Promise<Target> {
  if (!existsSync(build.gatewayCli)) throw new Error(`gateway is not built: ${build.gatewayCli} does not exist`);
  const configFile = join(workDir, 'gateway.json');
  const config = {
    servers: { fixture: { command: process.execPath, args: [build.fixtureScript, '--stdio'], prefix: false } },
  };
  writeFileSync(configFile, `${JSON.stringify(config, null, 2)}\n`);

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
    return { url: `${base.replace(/\/+$/, '')}/mcp`, child };
  } catch (err) {
    throw new Error(`${(err as Error).message}; last gateway stderr lines:\n${stderr.recent() || '(none)'}`, { cause: err });
  }
}
