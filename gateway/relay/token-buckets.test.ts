import { MemoryBuckets } from './token-buckets';

/** 2 tokens a second, 3 at once. */
const LIMIT = { ratePerMs: 2 / 1000, burst: 3 };

function clock() {
  let t = 1_000;
  return { now: () => t, advance: (ms: number) => void (t += ms) };
}

describe('in-memory token buckets', () => {
  it('lets a burst through, then refuses with the time until the next token, and refills at the rate', () => {
    const time = clock();
    const buckets = new MemoryBuckets(10, time.now);
    expect([1, 2, 3].map(() => buckets.take('a', LIMIT))).toEqual([0, 0, 0]);
    expect(buckets.take('a', LIMIT)).toBe(500);
    time.advance(200);
    // a refused take takes nothing: the wait only shrinks
    expect(buckets.take('a', LIMIT)).toBe(300);
    time.advance(300);
    expect(buckets.take('a', LIMIT)).toBe(0);
    expect(buckets.take('a', LIMIT)).toBe(500);
  });

  it('keeps one bucket per key', () => {
    const buckets = new MemoryBuckets(10, clock().now);
    for (let i = 0; i < 3; i++) buckets.take('a', LIMIT);
    expect(buckets.take('a', LIMIT)).toBeGreaterThan(0);
    expect(buckets.take('b', LIMIT)).toBe(0);
  });

  it('gives a token back, never above the burst', () => {
    const buckets = new MemoryBuckets(10, clock().now);
    for (let i = 0; i < 3; i++) buckets.take('a', LIMIT);
    buckets.giveBack('a', LIMIT);
    expect(buckets.take('a', LIMIT)).toBe(0);
    buckets.giveBack('b', LIMIT);
    expect(buckets.size).toBe(1);
  });

  it('holds at most maxBuckets, dropping the least recently used', () => {
    const buckets = new MemoryBuckets(100, clock().now);
    for (let i = 0; i < 10_000; i++) buckets.take(`principal-${i}`, LIMIT);
    expect(buckets.size).toBe(100);
  });

  it('drops the bucket used longest ago at the cap, not one in use', () => {
    const buckets = new MemoryBuckets(2, clock().now);
    for (let i = 0; i < 3; i++) buckets.take('busy', LIMIT);
    buckets.take('old', LIMIT);
    buckets.take('busy', LIMIT); // refused, but used: now the most recent
    buckets.take('new', LIMIT); // the cap: "old" goes
    expect(buckets.size).toBe(2);
    expect(buckets.take('busy', LIMIT)).toBeGreaterThan(0);
    expect(buckets.take('old', LIMIT)).toBe(0);
  });

  it('drops buckets that have refilled, without a timer', () => {
    const time = clock();
    const buckets = new MemoryBuckets(100, time.now);
    for (let i = 0; i < 50; i++) buckets.take(`idle-${i}`, LIMIT);
    expect(buckets.size).toBe(50);
    time.advance(1_000);
    // each take looks at the two oldest: 25 takes sweep the 50 idle (full again) buckets
    for (let i = 0; i < 25; i++) buckets.take('busy', LIMIT);
    expect(buckets.size).toBe(1);
  });
});
