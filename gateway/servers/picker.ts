/**
 * Smooth weighted round-robin (as in nginx): deterministic, and it spreads picks evenly, so weights
 * 80/20 give exactly 80 and 20 picks in every run of 100 and never a burst of one backend. A
 * candidate left out of a pick (down, or lacking the tool) is simply skipped: the others share its
 * traffic in proportion to their weights, which is what failover needs.
 */
export interface Weighted {
  readonly id: string;
  readonly weight: number;
}

export class SmoothWeightedPicker {
  private readonly current = new Map<string, number>();

  /** The next candidate among those with weight > 0, or undefined when there is none. */
  pick<T extends Weighted>(candidates: readonly T[]): T | undefined {
    let total = 0;
    let best: T | undefined;
    let bestScore = -Infinity;
    for (const c of candidates) {
      if (c.weight <= 0) continue;
      const score = (this.current.get(c.id) ?? 0) + c.weight;
      this.current.set(c.id, score);
      total += c.weight;
      if (score > bestScore) {
        best = c;
        bestScore = score;
      }
    }
    if (best) this.current.set(best.id, bestScore - total);
    return best;
  }

  /** Starts a fresh cycle: after a weight change the new split holds from the next pick on. */
  reset(): void {
    this.current.clear();
  }
}
