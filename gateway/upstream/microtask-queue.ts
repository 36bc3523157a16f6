/**
 * Runs tasks in arrival order, each one microtask after the previous; a task that finds the queue
 * idle runs at once. The upstream Streamable HTTP transport hands over incoming messages through
 * it, because the SDK's Protocol dispatches a notification a microtask after receiving it but a
 * response at once: a progress notification handed over in the same turn as its request's
 * response would otherwise find its handler already gone.
 */
export class MicrotaskQueue {
  private readonly waiting: (() => void)[] = [];
  private busy = false;

  /** `onError` gets what a task throws, so one bad task never stops the ones behind it. */
  constructor(private readonly onError: (err: Error) => void) {}

  run(task: () => void): void {
    if (this.busy) {
      this.waiting.push(task);
      return;
    }
    this.busy = true;
    this.execute(task);
  }

  private execute(task: () => void): void {
    try {
      task();
    } catch (err) {
      this.onError(err as Error);
    }
    queueMicrotask(this.next);
  }

  private readonly next = (): void => {
    const task = this.waiting.shift();
    if (task) this.execute(task);
    else this.busy = false;
  };
}
