/**
 * `npm run bench:limits`
 *
 * What the limits stages' own work costs per call, in-process (bench:overhead's fast-http-limits
 * measures the whole gateway, where this is lost in the noise of a shared machine): a rate-limit
 * check with two rules every call matches and none refuses, the same for a new principal on every
 * call (each a new bucket that stays unfilled, so at the bucket cap the least recently used one
 * is dropped each time), and
 * a concurrency slot taken and given back. Prints the median ns per call over ROUNDS and how many
 * buckets were held at the end (never more than maxBuckets).
 */
import { performance } from 'node:perf_hooks';
import { principal } from '../gateway/auth/principal';
import { rateLimitsSchema } from '../gateway/config/rate-limit-schema';
import { ConcurrencyGates } from '../gateway/relay/concurrency-gates';
import { Cancellation } from '../gateway/relay/context';
import { RateLimits } from '../gateway/relay/rate-limits';
import { MemoryBuckets } from '../gateway/relay/token-buckets';
import { spread } from './stats';

const ROUNDS = 15;
const CALLS = 200_000;
const MAX_BUCKETS = 10_000;
const NEVER = { requestsPerSecond: 1e9, burst: 1e9 };
const TARGET = { server: 'up', kind: 'tool' as const, name: 'echo' };

async function nsPerCall(run: (i: number) => unknown): Promise<number> {
  const t = performance.now();
  for (let i = 0; i < CALLS; i++) await run(i);
  return ((performance.now() - t) * 1e6) / CALLS;
}

async function main(): Promise<void> {
  const two = (rate: Record<string, number>) =>
    rateLimitsSchema.parse({
      maxBuckets: MAX_BUCKETS,
      rules: [
        { name: 'each-principal', ...rate },
        { name: 'each-tool', per: 'tool', tools: ['*'], ...rate },
      ],
    });
  const limits = new RateLimits(two(NEVER));
  // a slow refill with a deep bucket: no bucket fills up again during the run, so the cap does the bounding
  const churnStore = new MemoryBuckets(MAX_BUCKETS);
  const churn = new RateLimits(two({ requestsPerSecond: 0.001, burst: 1e6 }), churnStore);
  const one = principal('api-key', 'bench');
  const many = Array.from({ length: CALLS }, (_, i) => principal('api-key', `p${i}`));
  const gate = new ConcurrencyGates().for('up', {
    maxMessageBytes: 1,
    maxDepth: 2,
    maxSessions: 1,
    maxConcurrent: 1000,
    maxQueued: 100,
    queueTimeoutMs: 10_000,
  })!;
  const cases: [string, (i: number) => unknown][] = [
    ['rate limits: 2 rules, one principal', () => limits.admit(one, TARGET)],
    [`rate limits: 2 rules, a new principal each call (cap ${MAX_BUCKETS} buckets)`, (i) => churn.admit(many[i], TARGET)],
    ['concurrency: a slot taken and given back', () => (gate.enter(new Cancellation()) as () => void)()],
  ];
  const results = cases.map(() => [] as number[]);
  for (let round = 0; round < ROUNDS; round++) {
    // alternating, so drift on a shared machine hits every case alike
    for (const [i, [, run]] of cases.entries()) results[i].push(await nsPerCall(run));
  }
  console.log(`limits stages' own work per call, median of ${ROUNDS} rounds of ${CALLS} calls (node ${process.version})\n`);
  console.log('| case | ns/call (median) | range |');
  console.log('|---|---:|---:|');
  for (const [i, [name]] of cases.entries()) {
    const s = spread(results[i]);
    console.log(`| ${name} | ${s.median.toFixed(0)} | ${s.min.toFixed(0)}–${s.max.toFixed(0)} |`);
  }
  console.log(
    `\nbuckets held at the end of the new-principal case: ${churnStore.size} (maxBuckets ${MAX_BUCKETS}, after ${ROUNDS * CALLS} calls of ${CALLS} principals)`,
  );
}

void main();
