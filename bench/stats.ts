/** Percentiles and throughput over the blocks measured for one path (direct or gateway). */
import type { Block } from './load';

export interface Summary {
  calls: number;
  p50Ms: number;
  p99Ms: number;
  callsPerSec: number;
}

export function summarize(blocks: Block[]): Summary {
  const sorted = blocks.flatMap((b) => b.latenciesMs).sort((a, b) => a - b);
  const wallMs = blocks.reduce((sum, b) => sum + b.wallMs, 0);
  return {
    calls: sorted.length,
    p50Ms: percentile(sorted, 50),
    p99Ms: percentile(sorted, 99),
    callsPerSec: wallMs > 0 ? (sorted.length * 1000) / wallMs : 0,
  };
}

/** Nearest-rank percentile of an ascending array (NaN when empty). */
export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
}

/** Median, min and max of a sample (medians of small samples, as the container benchmarks take). */
export function spread(values: number[]): { median: number; min: number; max: number } {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return { median: s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2, min: s[0], max: s[s.length - 1] };
}
