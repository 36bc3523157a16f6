/** The health state machine: one failure degrades, N in a row take down, M successes in a row heal; one silence counts once. */
import { HealthTracker, type HealthChange } from './health-state';

function tracker(unhealthyThreshold = 3, healthyThreshold = 2) {
  const changes: string[] = [];
  const t = new HealthTracker({ unhealthyThreshold, healthyThreshold }, (c: HealthChange) => changes.push(`${c.from}->${c.to} (${c.cause})`));
  return { t, changes };
}

describe('HealthTracker', () => {
  it('is down until connected, then healthy', () => {
    const { t, changes } = tracker();
    expect(t.report).toEqual({ state: 'down', reason: 'not connected yet', consecutiveFailures: 0, consecutiveSuccesses: 0 });
    t.connected();
    expect(t.report).toEqual({ state: 'healthy', reason: 'connected', consecutiveFailures: 0, consecutiveSuccesses: 0 });
    expect(changes).toEqual(['down->healthy (connection)']);
  });

  it('goes healthy -> degraded on the first failure and down after unhealthyThreshold in a row', () => {
    const { t, changes } = tracker(3);
    t.connected();
    expect(t.failure('no answer 1', 0, 10, 1_000)).toBe(false);
    expect(t.report).toEqual({
      state: 'degraded',
      reason: 'no answer 1',
      lastCheckAt: new Date(1_000).toISOString(),
      consecutiveFailures: 1,
      consecutiveSuccesses: 0,
    });
    expect(t.failure('no answer 2', 20, 30)).toBe(false);
    expect(t.state).toBe('degraded');
    expect(t.failure('no answer 3', 40, 50)).toBe(true);
    expect(t.report).toMatchObject({ state: 'down', reason: 'no answer 3', consecutiveFailures: 3 });
    expect(changes).toEqual(['down->healthy (connection)', 'healthy->degraded (check)', 'degraded->down (check)']);
  });

  it('takes healthyThreshold successes in a row to heal a degraded backend; a failure between starts the count again', () => {
    const { t, changes } = tracker(10, 3);
    t.connected();
    t.failure('silent', 0, 10);
    t.success('answering');
    t.success('answering');
    t.failure('silent again', 20, 30);
    expect(t.report).toMatchObject({ state: 'degraded', consecutiveFailures: 1, consecutiveSuccesses: 0 });
    t.success('answering');
    t.success('answering');
    expect(t.state).toBe('degraded');
    t.success('answering');
    expect(t.report).toMatchObject({ state: 'healthy', reason: 'answering', consecutiveFailures: 0, consecutiveSuccesses: 3 });
    expect(changes.slice(1)).toEqual(['healthy->degraded (check)', 'degraded->healthy (check)']);
  });

  it('resets the failure count on a success, so failures must be consecutive to take a backend down', () => {
    const { t } = tracker(2);
    t.connected();
    t.failure('silent', 0, 10);
    t.success('answering');
    expect(t.failure('silent', 20, 30)).toBe(false);
    expect(t.report).toMatchObject({ state: 'degraded', consecutiveFailures: 1 });
  });

  it('counts requests that timed out in the same silence once: only one sent after the last counted failure is new evidence', () => {
    const { t } = tracker(2);
    t.connected();
    // ten calls sent at 0..9 all time out at 100: one failure
    for (let i = 0; i < 10; i++) expect(t.failure('call timed out', i, 100)).toBe(false);
    expect(t.report.consecutiveFailures).toBe(1);
    // a ping sent after that failure was counted is new evidence
    expect(t.failure('ping timed out', 150, 250)).toBe(true);
    expect(t.state).toBe('down');
  });

  it('ignores evidence while down: a backend comes back only with a new connection', () => {
    const { t } = tracker(1);
    t.connected();
    expect(t.failure('silent', 0, 10)).toBe(true);
    t.success('a late answer');
    expect(t.failure('silent', 20, 30)).toBe(false);
    expect(t.report).toMatchObject({ state: 'down', reason: 'silent', consecutiveSuccesses: 0 });
    t.disconnected('health check failed');
    expect(t.report).toEqual({
      state: 'down',
      reason: 'health check failed',
      lastCheckAt: expect.any(String),
      consecutiveFailures: 0,
      consecutiveSuccesses: 0,
    });
    t.connected();
    expect(t.state).toBe('healthy');
    // the silence before the reconnect is forgotten: a new failure counts
    expect(t.failure('silent', 15, 40)).toBe(true);
  });
});
