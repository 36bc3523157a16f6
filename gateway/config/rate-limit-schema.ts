/**
 * The `rateLimits` part of the gateway config: token buckets on forwarded requests, written like
 * the policy's rules (who and what by patterns), each with its rate and what one bucket counts.
 * Validated here once, like the rest of the config.
 */
import { z } from 'zod';
import { matchFields } from './auth-schema';

/** What one bucket of a rule counts: the calls of one principal, to one server, of one tool (prompt, resource) on its server. */
export const rateLimitDimensions = ['principal', 'server', 'tool'] as const;
export type RateLimitDimension = (typeof rateLimitDimensions)[number];

const dimension = z.enum(rateLimitDimensions);

export const rateLimitRuleSchema = z
  .object({
    /** Names the rule in refusals (`error.data.limit`) and in the metric's `limit` label. */
    name: z.string().regex(/^[A-Za-z0-9_.:-]{1,64}$/, 'use 1-64 of A-Z a-z 0-9 _ . : -'),
    ...matchFields,
    /**
     * One bucket per principal (the default), per server, per tool, or per combination of them
     * (`[principal, tool]`: each principal's calls of each tool); `global`: one bucket for every
     * request the rule matches.
     */
    per: z
      .union([z.literal('global'), dimension, z.array(dimension).min(1)])
      .default('principal')
      .transform((per): RateLimitDimension[] => (per === 'global' ? [] : typeof per === 'string' ? [per] : [...new Set(per)])),
    /** The bucket's refill: tokens per second, fractions allowed (0.5 is one request every 2 s). */
    requestsPerSecond: z.number().positive().finite(),
    /** The bucket's size: requests a full bucket lets through at once. Default: one second's worth (at least 1). */
    burst: z.number().int().positive().optional(),
  })
  .strict()
  .transform((rule) => ({ ...rule, burst: rule.burst ?? Math.max(1, Math.ceil(rule.requestsPerSecond)) }));

export const rateLimitsSchema = z
  .object({
    /**
     * Every rule that matches a request takes a token from its bucket; the first empty one refuses
     * the request (RATE_LIMITED: HTTP 429 with Retry-After, `error.data.retryAfterMs`), and the
     * buckets it took from get their token back.
     */
    rules: z.array(rateLimitRuleSchema).default([]),
    /**
     * Buckets held at once, all rules together. Past it the one used longest ago is dropped (a full
     * bucket is the same as none, and the least recently used is the likeliest to be full), so
     * principals without number cost memory of a fixed size.
     */
    maxBuckets: z.number().int().positive().default(100_000),
    /**
     * The buckets live in the shared store (store.redis), so replicas behind one load balancer
     * limit together: a principal's rate is the fleet's, not each replica's. While the store cannot
     * answer, each replica limits on its own.
     */
    shared: z.boolean().default(false),
  })
  .strict()
  .superRefine((limits, ctx) => {
    const seen = new Set<string>();
    limits.rules.forEach((rule, i) => {
      if (seen.has(rule.name))
        ctx.addIssue({ code: 'custom', path: ['rules', i, 'name'], message: `rule name "${rule.name}" is used twice; names must be unique` });
      seen.add(rule.name);
    });
  });

export type RateLimitRule = z.output<typeof rateLimitRuleSchema>;
export type RateLimitSettings = z.output<typeof rateLimitsSchema>;
