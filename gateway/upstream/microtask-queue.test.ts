import { MicrotaskQueue } from './microtask-queue';

describe('microtask queue', () => {
  it('runs the first task at once and each later one a microtask after the previous, past a task that throws', async () => {
    const seen: string[] = [];
    const errors: string[] = [];
    const queue = new MicrotaskQueue((err) => errors.push(err.message));
    queue.run(() => {
      seen.push('a');
      // what a task schedules for the next microtask runs before the next task
      queueMicrotask(() => seen.push('after a'));
    });
    queue.run(() => {
      throw new Error('bad task');
    });
    queue.run(() => seen.push('c'));
    expect(seen).toEqual(['a']);
    await new Promise((r) => setImmediate(r));
    expect(seen).toEqual(['a', 'after a', 'c']);
    expect(errors).toEqual(['bad task']);
    queue.run(() => seen.push('d'));
    expect(seen.at(-1)).toBe('d');
  });
});
