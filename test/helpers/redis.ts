/**
 * A real redis-server (Debian's; scripts/ci-lb.sh installs it when missing) for a test: one
 * foreground process on a free loopback port, nothing persisted, stopped by `stop()`.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { ROOT } from '../containers/support/docker';
import { freePort } from './ports';
import { runForeground } from './foreground';

/** Installs haproxy and redis-server unless on PATH. */
export function ensureLoadBalancerTools(): void {
  execFileSync('bash', [join(ROOT, 'scripts', 'ci-lb.sh')], { stdio: 'inherit' });
}

export interface Redis {
  url: string;
  port: number;
  stop(): Promise<void>;
}

export async function startRedis(): Promise<Redis> {
  const port = await freePort();
  const redis = await runForeground('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], port);
  return { url: `redis://127.0.0.1:${port}`, port, stop: redis.stop };
}
