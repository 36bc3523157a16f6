/**
 * Warm-pool hand-out: how long a NEW client session waits until its first tool call is answered
 * when its per-session container comes from the warm pool, against a cold start (pool.warm 0),
 * measured in the same run on the real engine with the mcp-server image. Prints medians and the
 * ratio; used by `npm run bench:containers`.
 */
import { connectGateway } from '../gateway/client/connect';
import { parseConfig } from '../gateway/config/load';
import { startGateway } from '../gateway/gateway';
import { createLogger } from '../gateway/log';
import type { Cleanup } from './cleanup';
import { spread } from './stats';

async function firstCallMs(url: string): Promise<number> {
  const t0 = performance.now();
  const session = await connectGateway(url, 'streamable-http', { name: 'bench-pool' });
  await session.client.callTool({ name: 'memory__read_graph', arguments: {} });
  const ms = performance.now() - t0;
  await session.close();
  return ms;
}

async function sessionTimes(warm: number, runs: number, image: string, cleanup: Cleanup): Promise<number[]> {
  const instance = `bench-pool-${warm}-${process.pid}`;
  const config = parseConfig(
    {
      listen: '127.0.0.1:0',
      instance,
      servers: {
        memory: {
          docker: { image, command: ['mcp-stdio-wrapper.sh', 'memory'], tmpfs: { '/tmp': 'rw,size=16m', '/data': 'rw,size=16m' } },
          mode: 'per-session',
          pool: { warm, max: 4 },
        },
      },
    },
    'bench',
  );
  cleanup.refuseWhenStopping(`gateway ${instance}`);
  const gw = await startGateway(config, { log: createLogger('warn') });
  const stop = cleanup.add(`gateway ${instance}`, () => gw.stop());
  const pool = gw.transports.pool('memory', 'primary')!;
  const times: number[] = [];
  try {
    for (let i = 0; i <= runs; i++) {
      // let the pool refill (and, cold, let the last session's container go) before each session
      const deadline = Date.now() + 30_000;
      while ((pool.warmCount < warm || pool.size > warm) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      const ms = await firstCallMs(gw.url!);
      if (i > 0) times.push(ms); // the first is a warm-up
    }
  } finally {
    await stop();
  }
  return times;
}

/** Runs both variants and prints a table row each plus the ratio. */
export async function benchWarmPool(image: string, runs: number, cleanup: Cleanup): Promise<void> {
  const cold = await sessionTimes(0, runs, image, cleanup);
  const warm = await sessionTimes(1, runs, image, cleanup);
  const c = spread(cold).median;
  const w = spread(warm).median;
  console.log(`\nper-session docker server (memory, ${image}): new session to first tool call answered, median of ${runs}`);
  console.log('| pool | median | min-max |');
  console.log('|---|---|---|');
  console.log(`| cold (pool.warm 0) | ${c.toFixed(0)} ms | ${Math.min(...cold).toFixed(0)}-${Math.max(...cold).toFixed(0)} ms |`);
  console.log(`| warm (pool.warm 1) | ${w.toFixed(0)} ms | ${Math.min(...warm).toFixed(0)}-${Math.max(...warm).toFixed(0)} ms |`);
  console.log(`warm hand-out takes ${((w / c) * 100).toFixed(0)}% of a cold start`);
}
