/**
 * Per-backend call statistics over a sliding window, for rollout gates: calls, errors and latency
 * percentiles of the last N seconds. Each backend has a ring of one-second buckets (an hour of
 * them); a bucket keeps its counts exactly and a bounded random sample of its latencies, so memory
 * stays flat however busy a backend is.
 */

/** tool_error: the tool ran and reported failure (isError); cancelled: the client called the request off. */
export type CallOutcome = 'ok' | 'error' | 'tool_error' | 'cancelled';

/** One request the gateway forwarded upstream, as it ended. */
export interface CallRecord {
  server: string;
  backend: string;
  method: string;
  outcome: CallOutcome;
  durationMs: number;
}

export interface BackendStats {
  /** Calls that ended with an answer or a failure; cancelled ones are counted apart and say nothing about the backend. */
  calls: number;
  errors: number;
  toolErrors: number;
  /** (errors + toolErrors) / calls; 0 without calls. */
  errorRate: number;
  p50Ms: number | null;
  p95Ms: number | null;
  p99Ms: number | null;
  cancelled: number;
}

/** The statistics of a backend no call reached in the window. */
export const NO_CALLS: Readonly<BackendStats> = Object.freeze({
  calls: 0,
  errors: 0,
  toolErrors: 0,
  errorRate: 0,
  p50Ms: null,
  p95Ms: null,
  p99Ms: null,
  cancelled: 0,
});

export const MAX_WINDOW_SEC = 3600;
const SAMPLES_PER_BUCKET = 64;

interface Bucket {
  second: number;
  calls: number;
  errors: number;
  toolErrors: number;
  cancelled: number;
  latencies: number[];
}

export class CallStats {
  /** server → backend → ring of buckets indexed by second % MAX_WINDOW_SEC. */
  private readonly rings = new Map<string, Map<string, (Bucket | undefined)[]>>();

  constructor(private readonly now: () => number = Date.now) {}

  record(call: CallRecord): void {
    const second = Math.floor(this.now() / 1000);
    let backends = this.rings.get(call.server);
    if (!backends) this.rings.set(call.server, (backends = new Map()));
    let ring = backends.get(call.backend);
    if (!ring) backends.set(call.backend, (ring = new Array(MAX_WINDOW_SEC)));
    const slot = second % MAX_WINDOW_SEC;
    let bucket = ring[slot];
    if (!bucket || bucket.second !== second) ring[slot] = bucket = { second, calls: 0, errors: 0, toolErrors: 0, cancelled: 0, latencies: [] };
    if (call.outcome === 'cancelled') {
      bucket.cancelled++;
      return;
    }
    bucket.calls++;
    if (call.outcome === 'error') bucket.errors++;
    if (call.outcome === 'tool_error') bucket.toolErrors++;
    // reservoir sampling: every call of the second has the same chance to be among the samples
    if (bucket.latencies.length < SAMPLES_PER_BUCKET) bucket.latencies.push(call.durationMs);
    else {
      const i = Math.floor(Math.random() * bucket.calls);
      if (i < SAMPLES_PER_BUCKET) bucket.latencies[i] = call.durationMs;
    }
  }

  /** Statistics of the last `windowSec` seconds (the current one included), per server and backend. */
  window(windowSec: number): Record<string, Record<string, BackendStats>> {
    const newest = Math.floor(this.now() / 1000);
    const oldest = newest - windowSec + 1;
    const out: Record<string, Record<string, BackendStats>> = {};
    for (const [server, backends] of this.rings) {
      out[server] = {};
      for (const [backend, ring] of backends) {
        const inWindow = ring.filter((b): b is Bucket => b !== undefined && b.second >= oldest && b.second <= newest);
        out[server][backend] = summarize(inWindow);
      }
    }
    return out;
  }

  /** Drops the history of a removed server, or of one of its backends. */
  forget(server: string, backend?: string): void {
    if (backend === undefined) this.rings.delete(server);
    else this.rings.get(server)?.delete(backend);
  }
}

function summarize(buckets: Bucket[]): BackendStats {
  let calls = 0;
  let errors = 0;
  let toolErrors = 0;
  let cancelled = 0;
  const samples: number[] = [];
  for (const b of buckets) {
    cancelled += b.cancelled;
    calls += b.calls;
    errors += b.errors;
    toolErrors += b.toolErrors;
    samples.push(...b.latencies);
  }
  samples.sort((a, b) => a - b);
  const pct = (p: number) => (samples.length === 0 ? null : round(samples[Math.max(0, Math.ceil(p * samples.length) - 1)]));
  return {
    calls,
    errors,
    toolErrors,
    errorRate: calls === 0 ? 0 : (errors + toolErrors) / calls,
    p50Ms: pct(0.5),
    p95Ms: pct(0.95),
    p99Ms: pct(0.99),
    cancelled,
  };
}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}
