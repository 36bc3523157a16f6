/** A real daemon run in the foreground for a test (nginx, haproxy, redis-server): started, waited for on its port, stopped. */
import { spawn, type ChildProcess } from 'node:child_process';
import { connect } from 'node:net';
import { waitFor } from './wait';

export interface Foreground {
  /** What it wrote to stderr. */
  stderr: string[];
  stop(): Promise<void>;
}

/** Runs `command` until `stop()`, resolved once it accepts connections on the loopback `port`; `cleanup` runs after it exited. */
export async function runForeground(command: string, args: string[], port: number, cleanup: () => void = () => {}): Promise<Foreground> {
  const child: ChildProcess = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  const stderr: string[] = [];
  child.stderr?.on('data', (chunk: Buffer) => stderr.push(chunk.toString()));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
    cleanup();
  };
  try {
    await waitFor(() => child.exitCode === null && accepts(port), `${command} listening on ${port}`, 15_000, 50);
  } catch (err) {
    await stop();
    throw new Error(`${(err as Error).message}; ${command} said: ${stderr.join('')}`, { cause: err });
  }
  return { stderr, stop };
}

/** Whether something accepts TCP connections on the loopback port. */
export function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: '127.0.0.1' }, () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });
}
