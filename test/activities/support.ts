/**
 * Runs an activity function inside a Temporal activity context without a worker (as the SDK's
 * MockActivityEnvironment does): heartbeats are recorded, and `cancel()` aborts like a
 * cancellation request delivered by the server.
 */
import { asyncLocalStorage, CancelledFailure, Context } from '@temporalio/activity';

export interface FakeActivity {
  heartbeats: unknown[];
  cancel(): void;
  run<T>(fn: () => Promise<T>): Promise<T>;
}

export function fakeActivity(): FakeActivity {
  const controller = new AbortController();
  const heartbeats: unknown[] = [];
  let reject: (err: unknown) => void = () => {};
  const cancelled = new Promise<never>((_, r) => (reject = r));
  cancelled.catch(() => {});
  const noop = () => {};
  const log = { trace: noop, debug: noop, info: noop, warn: noop, error: noop, log: noop };
  const Ctor = Context as unknown as new (...args: unknown[]) => Context;
  const context = new Ctor(
    { activityType: 'test', attempt: 1 },
    cancelled,
    controller.signal,
    (d: unknown) => heartbeats.push(d),
    undefined,
    log,
    undefined,
    undefined,
  );
  return {
    heartbeats,
    cancel: () => {
      reject(new CancelledFailure('CANCELLED'));
      controller.abort(new CancelledFailure('CANCELLED'));
    },
    run: (fn) => asyncLocalStorage.run(context, fn),
  };
}
