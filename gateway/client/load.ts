/**
 * Steady load from several clients while something is killed, and what it cost: each client calls
 * back to back, every outcome is recorded with its client and times, and the figures are read off
 * at the end. Shared by the failover benchmark (bench/failover.ts) and the high-availability
 * activities (activities/failover.ts), so that both count failed calls and recovery the same way.
 */

/** One client of the load: a call that resolves (an `isError` result counts as failed) or throws. */
export interface LoadClient {
  call(): Promise<unknown>;
}

export interface CallRecord {
  client: number;
  startedAt: number;
  endedAt: number;
  ok: boolean;
  error?: string;
}

export interface ClientFigures {
  calls: number;
  failedCalls: number;
}

export interface LoadFigures {
  calls: number;
  failedCalls: number;
  /** From `since` to the end of the last failed call; 0 when none failed. */
  lastFailureMs: number;
  /**
   * From `since` until every client has had a successful call that started after the last failed
   * one (of any client) ended: the success rate is back to 100% for everyone. A call that hung
   * across the kill and then answered counts too, so a stall shows even without failures.
   * Undefined while some client has not recovered.
   */
  recoveryMs: number | undefined;
  perClient: ClientFigures[];
  /** The first few distinct error messages, to say what failed. */
  errors: string[];
}

/** A running load; `stop()` lets every client finish its call in flight and returns the records. */
export class Load {
  private readonly records: CallRecord[] = [];
  private stopped = false;
  private readonly running: Promise<void>;

  constructor(
    private readonly clients: LoadClient[],
    private readonly now: () => number = () => performance.now(),
  ) {
    this.running = Promise.all(clients.map((c, i) => this.loop(c, i))).then(() => undefined);
  }

  private async loop(client: LoadClient, index: number): Promise<void> {
    while (!this.stopped) {
      const startedAt = this.now();
      const error = await client.call().then(
        (r) => ((r as { isError?: boolean }).isError ? 'the tool returned isError' : undefined),
        (err: Error) => err?.message ?? String(err),
      );
      this.records.push({ client: index, startedAt, endedAt: this.now(), ok: error === undefined, ...(error === undefined ? {} : { error }) });
    }
  }

  /** Every client has had a successful call that started after the last failure and after `since`. */
  recovered(since: number): boolean {
    return this.recoveredAt(since) !== undefined;
  }

  private recoveredAt(since: number): number | undefined {
    const from = this.records.reduce((t, r) => (r.ok ? t : Math.max(t, r.endedAt)), since);
    let at = -Infinity;
    for (let i = 0; i < this.clients.length; i++) {
      const ok = this.records.find((r) => r.client === i && r.ok && r.startedAt >= from);
      if (!ok) return undefined;
      at = Math.max(at, ok.endedAt);
    }
    return at;
  }

  async stop(): Promise<CallRecord[]> {
    this.stopped = true;
    await this.running;
    return this.records;
  }

  /** The figures of every call so far, times counted from `since` (the kill). */
  figures(since: number): LoadFigures {
    const failures = this.records.filter((r) => !r.ok);
    const recoveredAt = this.recoveredAt(since);
    return {
      calls: this.records.length,
      failedCalls: failures.length,
      lastFailureMs: failures.length ? Math.round(Math.max(0, failures.reduce((t, r) => Math.max(t, r.endedAt), since) - since)) : 0,
      recoveryMs: recoveredAt === undefined ? undefined : Math.round(Math.max(0, recoveredAt - since)),
      perClient: this.clients.map((_, i) => ({
        calls: this.records.filter((r) => r.client === i).length,
        failedCalls: failures.filter((r) => r.client === i).length,
      })),
      errors: [...new Set(failures.map((r) => r.error!))].slice(0, 3),
    };
  }
}
