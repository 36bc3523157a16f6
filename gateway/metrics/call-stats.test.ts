import { CallStats, type CallOutcome } from './call-stats';

describe('call statistics over a sliding window', () => {
  let now = 1_000_000_000;
  const stats = new CallStats(() => now);
  const call = (backend: string, outcome: CallOutcome, durationMs: number) => stats.record({ server: 's', backend, method: 'tools/call', outcome, durationMs });

  it('counts calls, errors and tool errors per backend, with percentiles of their latency', () => {
    for (let ms = 1; ms <= 100; ms++) {
      call('primary', ms % 10 === 0 ? 'error' : ms % 25 === 0 ? 'tool_error' : 'ok', ms);
      if (ms % 20 === 0) now += 1000; // 20 calls a second: every latency is kept
    }
    call('canary', 'ok', 7);
    expect(stats.window(60)).toEqual({
      s: {
        primary: { calls: 100, errors: 10, toolErrors: 2, errorRate: 0.12, p50Ms: 50, p95Ms: 95, p99Ms: 99, cancelled: 0 },
        canary: { calls: 1, errors: 0, toolErrors: 0, errorRate: 0, p50Ms: 7, p95Ms: 7, p99Ms: 7, cancelled: 0 },
      },
    });
  });

  it('lets calls older than the window drop out, second by second', () => {
    now += 30_000;
    call('canary', 'error', 3);
    expect(stats.window(60).s.canary.calls).toBe(2);
    expect(stats.window(30).s.canary).toEqual({ calls: 1, errors: 1, toolErrors: 0, errorRate: 1, p50Ms: 3, p95Ms: 3, p99Ms: 3, cancelled: 0 });
    now += 3600_000; // a full turn of the ring later, old buckets are not mistaken for new ones
    expect(stats.window(3600).s.primary).toEqual({ calls: 0, errors: 0, toolErrors: 0, errorRate: 0, p50Ms: null, p95Ms: null, p99Ms: null, cancelled: 0 });
  });

  it('counts a call the client cancelled apart: it is no call, no error and no latency of the backend', () => {
    now += 10_000;
    call('calm', 'ok', 4);
    call('calm', 'cancelled', 30_000);
    call('calm', 'cancelled', 12);
    expect(stats.window(1).s.calm).toEqual({ calls: 1, errors: 0, toolErrors: 0, errorRate: 0, p50Ms: 4, p95Ms: 4, p99Ms: 4, cancelled: 2 });
  });

  it('keeps a bounded sample of latencies however many calls a second has', () => {
    for (let i = 0; i < 10_000; i++) call('busy', 'ok', 5);
    expect(stats.window(1).s.busy).toMatchObject({ calls: 10_000, p50Ms: 5, p99Ms: 5 });
    stats.forget('s', 'busy');
    expect(stats.window(1).s.busy).toBeUndefined();
  });
});
