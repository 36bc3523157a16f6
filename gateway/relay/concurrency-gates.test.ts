import { FleetError } from '../protocol/errors';
import { ConcurrencyGates, type Release } from './concurrency-gates';
import { Cancellation } from './context';

const limits = (maxConcurrent: number | undefined, maxQueued: number, queueTimeoutMs = 60_000) => ({
  maxMessageBytes: 1 << 20,
  maxDepth: 64,
  maxSessions: 1,
  maxConcurrent,
  maxQueued,
  queueTimeoutMs,
});

function refusal(fn: () => unknown): FleetError {
  try {
    fn();
  } catch (err) {
    return err as FleetError;
  }
  throw new Error('expected a refusal');
}

describe('concurrency gates', () => {
  it('makes no gate for a server without maxConcurrent', () => {
    expect(new ConcurrencyGates().for('s', limits(undefined, 10))).toBeUndefined();
  });

  it('admits up to maxConcurrent, queues up to maxQueued in order, and refuses the rest at once', async () => {
    const l = limits(1, 2);
    const gate = new ConcurrencyGates().for('s', l)!;
    const first = gate.enter(new Cancellation()) as Release;
    expect(typeof first).toBe('function');
    const order: string[] = [];
    const second = (gate.enter(new Cancellation()) as Promise<Release>).then((r) => (order.push('second'), r));
    const third = (gate.enter(new Cancellation()) as Promise<Release>).then((r) => (order.push('third'), r));
    const refused = refusal(() => gate.enter(new Cancellation()));
    expect(refused).toMatchObject({ code: 'LIMIT_REACHED', data: { server: 's', limit: 'maxQueued' } });
    expect(refused.message).toMatch(/server "s" is busy: 1 request\(s\) in flight \(limits.maxConcurrent 1\) and 2 waiting \(limits.maxQueued 2\)/);
    expect({ inFlight: gate.inFlight, queued: gate.queued }).toEqual({ inFlight: 1, queued: 2 });
    first();
    first(); // a second release gives nothing back twice
    (await second)();
    (await third)();
    expect(order).toEqual(['second', 'third']);
    expect({ inFlight: gate.inFlight, queued: gate.queued }).toEqual({ inFlight: 0, queued: 0 });
  });

  it('refuses a request that waited queueTimeoutMs, and lets a cancelled one leave the queue', async () => {
    const gate = new ConcurrencyGates().for('s', limits(1, 5, 50))!;
    const held = gate.enter(new Cancellation()) as Release;
    await expect(gate.enter(new Cancellation())).rejects.toMatchObject({ code: 'LIMIT_REACHED', data: { limit: 'queueTimeoutMs' } });
    const cancellation = new Cancellation();
    const waiting = gate.enter(cancellation);
    expect(gate.queued).toBe(1);
    cancellation.cancel('bye');
    await expect(waiting).rejects.toMatchObject({ code: 'CANCELLED' });
    expect(gate.queued).toBe(0);
    held();
    expect(gate.inFlight).toBe(0);
  });

  it('moves the queue on when the limits are raised', async () => {
    const gates = new ConcurrencyGates();
    const gate = gates.for('s', limits(1, 5))!;
    expect(typeof gate.enter(new Cancellation())).toBe('function');
    const waiting = gate.enter(new Cancellation()) as Promise<Release>;
    gates.for('s', limits(2, 5));
    await expect(waiting).resolves.toEqual(expect.any(Function));
    expect(gates.status()).toEqual([{ server: 's', inFlight: 2, queued: 0 }]);
  });
});
