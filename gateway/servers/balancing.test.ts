import { leastLoaded, rendezvous } from './balancing';

const backend = (id: string, weight: number, outstanding = 0) => ({ id, weight, outstanding });

describe('least outstanding requests', () => {
  it('keeps every candidate while all are idle, and the least loaded for its weight under load', () => {
    const idle = [backend('a', 100), backend('b', 100), backend('off', 0)];
    expect(leastLoaded(idle).map((b) => b.id)).toEqual(['a', 'b']);
    expect(leastLoaded([backend('a', 100, 1), backend('b', 100)]).map((b) => b.id)).toEqual(['b']);
    // 80/20 weights: one request on the heavy one still leaves it the lighter load
    expect(leastLoaded([backend('a', 80, 1), backend('b', 20)]).map((b) => b.id)).toEqual(['a']);
    expect(leastLoaded([backend('a', 80, 4), backend('b', 20)]).map((b) => b.id)).toEqual(['b']);
  });
});

describe('session affinity by rendezvous hashing', () => {
  const sessions = Array.from({ length: 2000 }, (_, i) => `session-${i}`);

  it('gives a session the same backend every time, and moves only the sessions of a backend that left', () => {
    const all = [backend('a', 100), backend('b', 100), backend('c', 100)];
    const before = new Map(sessions.map((s) => [s, rendezvous(all, s)!.id]));
    expect(sessions.every((s) => rendezvous(all, s)!.id === before.get(s))).toBe(true);
    const withoutB = all.filter((b) => b.id !== 'b');
    const moved = sessions.filter((s) => rendezvous(withoutB, s)!.id !== before.get(s));
    expect(moved.every((s) => before.get(s) === 'b')).toBe(true);
    expect(rendezvous([backend('off', 0)], 'x')).toBeUndefined();
  });

  it('shares sessions by weight', () => {
    const counts: Record<string, number> = {};
    for (const s of sessions) {
      const id = rendezvous([backend('a', 75), backend('b', 25)], s)!.id;
      counts[id] = (counts[id] ?? 0) + 1;
    }
    // 1500 / 500 expected; the hash is deterministic, so the bounds only say it is near
    expect(counts.a).toBeGreaterThan(1350);
    expect(counts.b).toBeGreaterThan(350);
  });
});
