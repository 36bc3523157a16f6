import { principal } from '../auth/principal';
import { rateLimitsSchema } from '../config/rate-limit-schema';
import { RateLimits } from './rate-limits';
import { MemoryBuckets } from './token-buckets';

const alice = principal('api-key', 'alice', [], ['dev']);
const bob = principal('api-key', 'bob');
const tool = (server: string, name: string) => ({ server, kind: 'tool' as const, name });

function limits(rules: unknown[]) {
  const settings = rateLimitsSchema.parse({ rules });
  // a clock that stands still: nothing refills during a test
  return new RateLimits(settings, new MemoryBuckets(settings.maxBuckets, () => 0));
}

async function admitted(l: RateLimits, who: typeof alice, target: ReturnType<typeof tool>, n: number): Promise<number> {
  let ok = 0;
  for (let i = 0; i < n; i++) if (!(await l.admit(who, target))) ok++;
  return ok;
}

describe('rate limit rules', () => {
  it('counts per principal by default, and refuses with the rule and the wait', async () => {
    const l = limits([{ name: 'each-key', requestsPerSecond: 1, burst: 2 }]);
    expect(await admitted(l, alice, tool('a', 'x'), 5)).toBe(2);
    expect(await l.admit(alice, tool('b', 'y'))).toEqual({ rule: 'each-key', retryAfterMs: 1000 });
    expect(await admitted(l, bob, tool('a', 'x'), 5)).toBe(2);
  });

  it('counts per server, per tool, per combination, or globally', async () => {
    const perServer = limits([{ name: 's', per: 'server', requestsPerSecond: 1, burst: 1 }]);
    expect(await admitted(perServer, alice, tool('a', 'x'), 2)).toBe(1);
    expect(await admitted(perServer, bob, tool('a', 'y'), 1)).toBe(0);
    expect(await admitted(perServer, bob, tool('b', 'y'), 1)).toBe(1);

    const perTool = limits([{ name: 't', per: ['principal', 'tool'], requestsPerSecond: 1, burst: 1 }]);
    expect(await admitted(perTool, alice, tool('a', 'x'), 2)).toBe(1);
    expect(await admitted(perTool, alice, tool('a', 'y'), 1)).toBe(1);
    expect(await admitted(perTool, bob, tool('a', 'x'), 1)).toBe(1);

    const global = limits([{ name: 'g', per: 'global', requestsPerSecond: 1, burst: 1 }]);
    expect(await admitted(global, alice, tool('a', 'x'), 1)).toBe(1);
    expect(await admitted(global, bob, tool('b', 'y'), 1)).toBe(0);
  });

  it('applies a rule only to the principals and targets it names, as policy rules match', async () => {
    const l = limits([{ name: 'devs-slow-tool', roles: ['dev'], servers: ['a'], tools: ['slow_*'], requestsPerSecond: 1, burst: 1 }]);
    expect(await admitted(l, alice, tool('a', 'slow_x'), 3)).toBe(1);
    expect(await admitted(l, alice, tool('a', 'fast'), 3)).toBe(3);
    expect(await admitted(l, alice, tool('b', 'slow_x'), 3)).toBe(3);
    expect(await admitted(l, bob, tool('a', 'slow_x'), 3)).toBe(3);
    expect(await l.admit(alice, { server: 'a', kind: 'prompt', name: 'slow_x' })).toBeUndefined();
  });

  it('gives back the tokens a request took when a later rule refuses it', async () => {
    const l = limits([
      { name: 'wide', requestsPerSecond: 1, burst: 3 },
      { name: 'narrow', tools: ['x'], requestsPerSecond: 1, burst: 1 },
    ]);
    expect(await admitted(l, alice, tool('a', 'x'), 4)).toBe(1);
    // three refused calls of x took nothing from "wide": two tokens are left for y
    expect(await admitted(l, alice, tool('a', 'y'), 3)).toBe(2);
  });

  it('keeps buckets of long keys bounded', async () => {
    const settings = rateLimitsSchema.parse({ rules: [{ name: 'uri', per: 'tool', requestsPerSecond: 1, burst: 1 }] });
    const store = new MemoryBuckets(10, () => 0);
    const keys: string[] = [];
    const take = store.take.bind(store);
    store.take = (key, limit) => (keys.push(key), take(key, limit));
    const l = new RateLimits(settings, store);
    const uri = `file:///${'x'.repeat(100_000)}`;
    expect(await l.admit(alice, { server: 'a', kind: 'resource', name: uri })).toBeUndefined();
    expect(await l.admit(alice, { server: 'a', kind: 'resource', name: uri })).toMatchObject({ rule: 'uri' });
    expect(keys.every((k) => k.length < 100)).toBe(true);
  });
});
