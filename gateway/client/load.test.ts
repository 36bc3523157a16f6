/**
 * The load's accounting (gateway/client/load.ts), which the failover benchmark and the
 * high-availability activities report: failed calls per client, and recovery only once every
 * client has succeeded after the last failure. The clients are plain functions that fail, hang or
 * answer on the test's cue: what is tested is the counting, not a transport (the activities'
 * test, test/activities/failover.test.ts, runs it against a real stack).
 */
import { waitFor } from '../../test/helpers/wait';
import { Load, type LoadClient } from './load';

/** A client whose calls fail while `failing`, and hang from hold() until release(). */
function cued(): LoadClient & { failing: boolean; calls: number; hold(): void; release(): void } {
  let release = () => {};
  const c = {
    failing: false,
    held: undefined as Promise<void> | undefined,
    calls: 0,
    release: () => release(),
    async call() {
      c.calls += 1;
      await new Promise((r) => setImmediate(r));
      if (c.held) await c.held;
      if (c.failing) throw new Error('replica gone');
      return { content: [] };
    },
    hold() {
      c.held = new Promise<void>((r) => (release = () => ((c.held = undefined), r())));
    },
  };
  return c;
}

describe('Load', () => {
  it('counts failed calls per client and recovers once every client succeeded after the last failure', async () => {
    const [a, b] = [cued(), cued()];
    const load = new Load([a, b]);
    await waitFor(() => load.recovered(0), 'both clients to be answered');
    const killedAt = performance.now();
    b.failing = true;
    await waitFor(() => load.figures(killedAt).failedCalls >= 3, 'three failed calls of b');
    expect(load.recovered(killedAt)).toBe(false);
    b.failing = false;
    await waitFor(() => load.recovered(killedAt), 'b to be answered again');
    await load.stop();

    const f = load.figures(killedAt);
    expect(f.failedCalls).toBeGreaterThanOrEqual(3);
    expect(f.perClient[0].failedCalls).toBe(0);
    expect(f.perClient[1].failedCalls).toBe(f.failedCalls);
    expect(f.perClient[0].calls + f.perClient[1].calls).toBe(f.calls);
    expect(f.errors).toEqual(['replica gone']);
    expect(f.recoveryMs).toBeGreaterThanOrEqual(f.lastFailureMs);
  });

  it('counts an isError result as failed', async () => {
    // it answers on the next turn, as a call over a socket does: the load leaves time to the test
    const load = new Load([{ call: () => new Promise((r) => setImmediate(() => r({ isError: true }))) }]);
    await waitFor(() => load.figures(0).failedCalls > 0, 'a failed call');
    await load.stop();
    expect(load.figures(0)).toMatchObject({ failedCalls: load.figures(0).calls, recoveryMs: undefined, errors: ['the tool returned isError'] });
  });

  it('has not recovered while a client hangs, even though nothing failed', async () => {
    const [a, b] = [cued(), cued()];
    const load = new Load([a, b]);
    await waitFor(() => load.recovered(0), 'both clients to be answered');
    b.hold();
    const stalledAt = performance.now();
    await waitFor(() => a.calls > 20, 'a to go on calling');
    expect(load.recovered(stalledAt)).toBe(false);
    b.release();
    await waitFor(() => load.recovered(stalledAt), 'b to be answered again');
    await load.stop();
    expect(load.figures(stalledAt)).toMatchObject({ failedCalls: 0, lastFailureMs: 0, recoveryMs: expect.any(Number) });
  });
});
