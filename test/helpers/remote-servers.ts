/**
 * server-everything over its own HTTP transports (Streamable HTTP or legacy SSE) as a separate
 * process, for tests of remote upstreams. It listens on a free port and is killed with its group.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { freePort } from './ports';
import { EVERYTHING_BIN, MARKER_VAR } from './servers';

export interface RemoteServer {
  url: string;
  port: number;
  child: ChildProcess;
  stop(): Promise<void>;
}

/** Starts `mcp-server-everything streamableHttp|sse` on `port` (a free one by default). */
export async function startEverythingHttp(mode: 'streamableHttp' | 'sse', marker: string, port?: number): Promise<RemoteServer> {
  const p = port ?? (await freePort());
  const child = spawn(process.execPath, [EVERYTHING_BIN, mode], {
    env: { ...process.env, PORT: String(p), [MARKER_VAR]: marker },
    stdio: ['ignore', 'ignore', 'pipe'],
    detached: true,
  });
  await new Promise<void>((resolve, reject) => {
    let out = '';
    child.stderr.on('data', (c: Buffer) => {
      out += c.toString();
      if (/port \d+/i.test(out)) resolve();
    });
    child.once('exit', (code) => reject(new Error(`server-everything ${mode} exited with ${code}: ${out}`)));
  });
  const path = mode === 'sse' ? '/sse' : '/mcp';
  return {
    url: `http://127.0.0.1:${p}${path}`,
    port: p,
    child,
    stop: () => killGroup(child),
  };
}

/** Kills a server started detached, with its whole process group, and waits for it to exit. */
export async function killGroup(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  try {
    process.kill(-child.pid!, 'SIGKILL');
  } catch {
    // already gone
  }
  await exited;
}
