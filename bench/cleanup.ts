/**
 * The one owner of everything the benchmark starts (processes, clients, temp files). Steps run in
 * reverse order of registration, each once, and a failing step never stops the others, so an
 * error or Ctrl-C halfway through still leaves nothing behind.
 */
import { onTermination, safeWrite } from '../gateway/termination';

interface Step {
  name: string;
  run: () => Promise<void> | void;
}

export class Cleanup {
  private readonly steps: Step[] = [];
  private finishing: Promise<void> | undefined;

  /**
   * Registers a step; the returned function runs it early (once) and takes it off the stack.
   * Once `runAll` has begun, a new step runs at once: nothing started late is left behind.
   */
  add(name: string, run: () => Promise<void> | void): () => Promise<void> {
    const step: Step = { name, run };
    if (this.finishing) {
      void runStep(step);
      return async () => {};
    }
    this.steps.push(step);
    return async () => {
      const i = this.steps.indexOf(step);
      if (i === -1) return;
      this.steps.splice(i, 1);
      await runStep(step);
    };
  }

  /**
   * SIGINT, SIGTERM or SIGHUP runs every step, then exits 128 + the signal's number
   * (gateway/termination.ts). `bench` names the benchmark in the line it prints. Returns the
   * function that takes the hook off again.
   */
  onTermination(bench: string): () => void {
    return onTermination(async (signal) => {
      safeWrite(process.stderr, `${bench}: ${signal}, stopping everything it started\n`);
      await this.runAll();
    });
  }

  /**
   * Throws once `runAll` has begun: code that is about to start something (a container, say) calls
   * it first, so the benchmark's own flow, still running after a signal, cannot start things
   * behind the cleanup's back.
   */
  refuseWhenStopping(what: string): void {
    if (this.finishing) throw new Error(`not starting ${what}: stopping`);
  }

  /** True once `runAll` has begun (a signal arrived, or the benchmark is finishing). */
  get stopping(): boolean {
    return this.finishing !== undefined;
  }

  /** Runs every remaining step, newest first; every caller waits for the same run. */
  runAll(): Promise<void> {
    return (this.finishing ??= (async () => {
      while (this.steps.length > 0) await runStep(this.steps.pop()!);
    })());
  }
}

async function runStep(step: Step): Promise<void> {
  try {
    await step.run();
  } catch (err) {
    safeWrite(process.stderr, `cleanup: ${step.name} failed: ${(err as Error).message}\n`);
  }
}
