/**
 * Closed-loop load: every client makes its next call as soon as the previous one is answered, so
 * N clients keep exactly N calls in flight. Latency is timed per call; throughput is the calls a
 * block completed over its wall time.
 */
import type { BenchClient } from './clients';

export interface Block {
  latenciesMs: number[];
  wallMs: number;
}

export interface BlockLimits {
  /** Calls each client makes, unless `maxMs` runs out first. */
  callsPerClient: number;
  maxMs: number;
}

export async function runBlock(clients: BenchClient[], limits: BlockLimits): Promise<Block> {
  const latenciesMs: number[] = [];
  const start = performance.now();
  const deadline = start + limits.maxMs;
  await Promise.all(
    clients.map(async (client, c) => {
      for (let i = 0; i < limits.callsPerClient && performance.now() < deadline; i++) {
        const t0 = performance.now();
        await client.call(`c${c}-${i}`);
        latenciesMs.push(performance.now() - t0);
      }
    }),
  );
  return { latenciesMs, wallMs: performance.now() - start };
}

/** Warms up JIT, connection pools and sessions, and checks once per client that the echo comes back. */
export async function warmUp(clients: BenchClient[], limits: BlockLimits): Promise<void> {
  await Promise.all(
    clients.map(async (client, c) => {
      const text = await client.call(`warm-up ${c}`);
      if (!text.includes(`warm-up ${c}`)) throw new Error(`echo answered ${JSON.stringify(text)} to "warm-up ${c}"`);
    }),
  );
  await runBlock(clients, limits);
}
