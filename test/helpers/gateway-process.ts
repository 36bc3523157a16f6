/** The gateway CLI as its own process (dist/gateway/cli.js), the way users and replicas run it. */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI_JS } from './gateway';
import { MARKER_VAR } from './servers';

export interface GatewayProcess {
  child: ChildProcess;
  url: string;
  /** Its JSON log lines so far. */
  logs: any[];
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
  const logs: any[] = [];
  /** What it wrote that is no log line (a crash's stack), for the error when it exits early. */
  const other: string[] = [];
  const url = await new Promise<string>((resolveUrl, reject) => {
    let buf = '';
    child.stderr.on('data', (c: Buffer) => {
      buf += c.toString();
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        if (!line.startsWith('{')) {
          other.push(line);
          continue;
        }
        const entry = JSON.parse(line);
        logs.push(entry);
        if (entry.msg === 'gateway listening') resolveUrl(entry.url);
      }
    });
    child.once('exit', (code) => reject(new Error(`gateway exited early with ${code}: ${JSON.stringify(logs.slice(-3))} ${other.slice(-5).join('\n')}`)));
  });
  return { child, url, logs, dir };
}
