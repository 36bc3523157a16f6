/**
 * The config's `rateLimits` rules, compiled once: which rules a request matches (the policy's own
 * who/what matching), which bucket of each it counts against (by the rule's `per`), and whether
 * every one of those buckets has a token for it. A request refused by one rule gives back the
 * tokens it took from the rules before, so a refused request counts against none. A config
 * reload replaces the rules in one assignment; the buckets stay (a rule kept by name keeps its
 * tokens, and takes the new rate and burst from its next request on).
 */
import { createHash } from 'node:crypto';
import { compileMatcher, type Matcher, type Target } from '../auth/policy';
import type { Principal } from '../auth/principal';
import type { RateLimitSettings } from '../config/rate-limit-schema';
import { MemoryBuckets, type BucketLimit, type BucketStore } from './token-buckets';

export interface RateRefusal {
  /** The rule whose bucket is empty. */
  rule: string;
  /** When that bucket will have a token again. */
  retryAfterMs: number;
}

interface CompiledRule {
  name: string;
  matches: Matcher;
  perPrincipal: boolean;
  perServer: boolean;
  perTool: boolean;
  limit: BucketLimit;
}

/** Keys past this length (a long principal id or resource URI) are stored by their SHA-256, so a bucket's size is bounded too. */
const MAX_KEY_CHARS = 256;

export class RateLimits {
  private rules: CompiledRule[];

  constructor(
    settings: RateLimitSettings,
    private readonly store: BucketStore = new MemoryBuckets(settings.maxBuckets),
  ) {
    this.rules = compileRules(settings);
  }

  /** Takes new rules (a config reload): the next request counts against them. */
  replace(settings: RateLimitSettings): void {
    this.rules = compileRules(settings);
  }

  /** No rules: nothing to count. */
  get none(): boolean {
    return this.rules.length === 0;
  }

  /** Takes a token from every bucket the request counts against; the refusal of the first that has none, else undefined. */
  async admit(principal: Principal, target: Target): Promise<RateRefusal | undefined> {
    let taken: [string, BucketLimit][] | undefined;
    const rules = this.rules;
    for (const rule of rules) {
      if (!rule.matches(principal, target)) continue;
      const key = bucketKey(rule, principal, target);
      const answer = this.store.take(key, rule.limit);
      const waitMs = typeof answer === 'number' ? answer : await answer;
      if (waitMs > 0) {
        for (const [k, limit] of taken ?? []) await this.store.giveBack(k, limit);
        return { rule: rule.name, retryAfterMs: waitMs };
      }
      (taken ??= []).push([key, rule.limit]);
    }
    return undefined;
  }
}

function compileRules(settings: RateLimitSettings): CompiledRule[] {
  return settings.rules.map((rule) => ({
    name: rule.name,
    matches: compileMatcher(rule),
    perPrincipal: rule.per.includes('principal'),
    perServer: rule.per.includes('server'),
    perTool: rule.per.includes('tool'),
    limit: { ratePerMs: rule.requestsPerSecond / 1000, burst: rule.burst },
  }));
}

function bucketKey(rule: CompiledRule, principal: Principal, target: Target): string {
  let key = rule.name;
  if (rule.perPrincipal) key += `\u0000${principal.id}`;
  if (rule.perServer || rule.perTool) key += `\u0000${target.server}`;
  if (rule.perTool) key += `\u0000${target.kind}:${target.name}`;
  return key.length > MAX_KEY_CHARS ? `${rule.name}\u0000#${createHash('sha256').update(key).digest('base64')}` : key;
}
