/** The gateway CLI as its own process (dist/gateway/cli.js), the way users and replicas run it. */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI_JS } from './gateway';
import { LogCapture, type LogLine, type LogWait } from './log-lines';
import { MARKER_VAR } from './servers';

export interface GatewayProcess {
  child: ChildProcess;
  url: string;
  /** Its JSON log lines so far. */
  logs: LogLine[];
  /** The first of its log lines (from `wait.from` on) that `match`es, once it arrived (log-lines.ts). */
  waitForLog(match: (line: LogLine) => boolean, what: string, wait?: LogWait): Promise<LogLine>;
  /** Where its config file is (the caller removes it). */
  dir: string;
}

/**
 * Starts the CLI with `doc` as its config file and resolves with its URL once it listens
 * (`listen` default: a port the OS picks). `env` adds to the test's environment.
 */
export async function spawnGateway(doc: unknown, marker: string, options: { listen?: string; env?: Record<string, string> } = {}): Promise<GatewayProcess> {
  const dir = mkdtempSync(join(tmpdir(), 'mcp-fleet-gw-'));
  writeFileSync(join(dir, 'gw.json'), JSON.stringify(doc));
  const child = spawn(process.execPath, [CLI_JS, '--config', join(dir, 'gw.json'), '--listen', options.listen ?? '127.0.0.1:0'], {
    env: { ...process.env, ...options.env, [MARKER_VAR]: marker },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const log = new LogCapture();
  /** What it wrote that is no log line (a crash's stack), for the error when it exits early. */
  const other: string[] = [];
  child.stderr.on('data', (chunk: Buffer) => log.feed(chunk, (text) => other.push(text)));
  const exited = new AbortController();
  const onExit = (code: number | null) =>
    exited.abort(new Error(`gateway exited early with ${code}: ${JSON.stringify(log.lines.slice(-3))} ${other.slice(-5).join('\n')}`));
  child.once('exit', onExit);
  const listening = await log
    .waitFor((l) => l.msg === 'gateway listening', 'the gateway listening', { timeoutMs: 30_000, signal: exited.signal })
    .catch((err: Error) => {
      child.kill('SIGKILL'); // one that never listened is not left running
      throw err;
    });
  child.off('exit', onExit);
  const url = listening.url as string;
  return { child, url, logs: log.lines, waitForLog: log.waitFor.bind(log), dir };
}

/** Replaces its config file in one rename, as an editor or a deploy would (a reload never reads half a file). */
export function writeGatewayConfig(gw: GatewayProcess, doc: unknown): void {
  const tmp = join(gw.dir, '.gw.json.swp');
  writeFileSync(tmp, JSON.stringify(doc));
  renameSync(tmp, join(gw.dir, 'gw.json'));
}

/** Stops it as a supervisor would (SIGTERM), waits for it to be gone, and removes its config directory. */
export async function stopGatewayProcess(gw: GatewayProcess): Promise<void> {
  const exited = new Promise((r) => gw.child.once('close', r));
  gw.child.kill('SIGTERM');
  await exited;
  rmSync(gw.dir, { recursive: true, force: true });
}
