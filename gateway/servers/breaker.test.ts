import { FleetError } from '../protocol/errors';
import { BackendBreaker } from './breaker';

const gone = () => Promise.reject(new FleetError('UPSTREAM_UNAVAILABLE', 'server "s" disconnected'));
const slow = () => Promise.reject(new FleetError('UPSTREAM_TIMEOUT', 'server "s" did not answer tools/call within 10 ms'));
const answered = () => Promise.resolve({ jsonrpc: '2.0', id: 1, error: { code: -32603, message: 'the tool failed' } });

describe('a backend circuit breaker', () => {
  // the half-open delay is time; the fake clock moves it instead of a sleep
  beforeEach(() => jest.useFakeTimers({ now: 1_000_000 }));
  afterEach(() => jest.useRealTimers());

  it('opens after consecutive upstream faults only, and an answer (even an error) resets the count', async () => {
    const changes: string[] = [];
    const breaker = new BackendBreaker({ consecutive: 2, halfOpenAfterMs: 1000 }, (s) => changes.push(s));
    await expect(breaker.run(gone, 'b')).rejects.toMatchObject({ code: 'UPSTREAM_UNAVAILABLE' });
    await breaker.run(answered, 'b');
    await expect(breaker.run(() => Promise.reject(new FleetError('CANCELLED', 'cancelled')), 'b')).rejects.toMatchObject({ code: 'CANCELLED' });
    await expect(breaker.run(slow, 'b')).rejects.toMatchObject({ code: 'UPSTREAM_TIMEOUT' });
    expect(breaker.state).toBe('closed');
    await expect(breaker.run(gone, 'b')).rejects.toMatchObject({ code: 'UPSTREAM_UNAVAILABLE' });
    expect(breaker.report).toMatchObject({ state: 'open', opened: 1, retryAfterMs: 1000, lastFault: 'server "s" disconnected' });
    expect(breaker.admits).toBe(false);
    await expect(breaker.run(answered, 'b')).rejects.toMatchObject({ code: 'CIRCUIT_OPEN', data: { backend: 'b', retryAfterMs: 1000 } });
    expect(changes).toEqual(['open']);
  });

  it('admits one probe after halfOpenAfterMs: a success closes it, a fault opens it again', async () => {
    const breaker = new BackendBreaker({ consecutive: 1, halfOpenAfterMs: 1000 });
    await expect(breaker.run(gone, 'b')).rejects.toThrow();
    jest.setSystemTime(1_000_999);
    expect(breaker.admits).toBe(false);
    jest.setSystemTime(1_001_000);
    expect(breaker.admits).toBe(true);
    await expect(breaker.run(gone, 'b')).rejects.toMatchObject({ code: 'UPSTREAM_UNAVAILABLE' });
    expect(breaker.report).toMatchObject({ state: 'open', opened: 2 });
    jest.setSystemTime(1_002_000);
    let finish!: () => void;
    const probe = breaker.run(() => new Promise<string>((resolve) => (finish = () => resolve('ok'))), 'b');
    expect([breaker.state, breaker.admits]).toEqual(['half-open', false]);
    finish();
    await expect(probe).resolves.toBe('ok');
    expect([breaker.state, breaker.admits]).toEqual(['closed', true]);
  });

  it('with sampling, opens once more than the threshold of a busy window failed', async () => {
    const breaker = new BackendBreaker({ sampling: { threshold: 0.5, windowMs: 1000, minimumRps: 1 }, halfOpenAfterMs: 1000 });
    await breaker.run(answered, 'b');
    await expect(breaker.run(gone, 'b')).rejects.toThrow();
    expect(breaker.state).toBe('closed');
    await expect(breaker.run(gone, 'b')).rejects.toThrow();
    expect(breaker.state).toBe('open');
  });
});
