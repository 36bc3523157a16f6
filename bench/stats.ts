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
