/**
 * The resilience settings of a server (`servers.X.breaker`, `retry`, `timeouts`, `balancing`):
 * when a backend is taken out of picking for its faults, which requests are tried again on another
 * backend, how long a forwarded request may take, and how a backend is chosen. Validated here
 * once, like the rest of the config; the policies themselves live in servers/breaker.ts,
 * servers/balancing.ts and the relay's retry and timeout stages.
 */
import { z } from 'zod';

const positiveMs = z.number().int().positive();

/**
 * A circuit breaker per backend, on upstream faults only (transport errors, timeouts, a server
 * gone; never a tool's isError result or a JSON-RPC error a live server answered). `consecutive`:
 * open after that many faults in a row. `sampling`: open when more than `threshold` (0..1) of the
 * requests in the last `windowMs` failed, once at least `minimumRps` requests a second came. An
 * open breaker takes its backend out of picking; after `halfOpenAfterMs` one request probes it
 * (success closes it, a fault opens it again).
 */
export const breakerSchema = z
  .object({
    consecutive: z.number().int().min(1).optional(),
    sampling: z
      .object({
        threshold: z.number().gt(0).max(1),
        windowMs: z.number().int().min(1000, 'windowMs: at least 1000 ms (the window is sampled in slices)'),
        minimumRps: z.number().positive().optional(),
      })
      .strict()
      .optional(),
    halfOpenAfterMs: positiveMs.default(10_000),
  })
  .strict()
  .superRefine((b, ctx) => {
    if ((b.consecutive === undefined) === (b.sampling === undefined)) {
      ctx.addIssue({ code: 'custom', path: ['consecutive'], message: 'name one threshold: consecutive (faults in a row) or sampling (a failure ratio)' });
    }
  });

export type BreakerSettings = z.infer<typeof breakerSchema>;

/**
 * Retries on another ready backend of a request whose backend died or could not be reached before
 * it answered. Only requests that are safe to repeat are retried once sent: ping, reads, gets and
 * lists, and tools/call of tools the server annotates `idempotentHint` or `readOnlyHint`, or that
 * `idempotentTools` names (as the server names them). A request that never left the gateway is
 * safe to send elsewhere whatever it is. `attempts` counts the retries (not the first try); the
 * wait between them grows from `backoff.initialMs` to at most `backoff.maxMs`, with jitter.
 */
export const retrySchema = z
  .object({
    attempts: z.number().int().min(1).max(10),
    backoff: z
      .object({ initialMs: z.number().int().min(0).default(50), maxMs: positiveMs.default(2_000) })
      .strict()
      .refine((b) => b.initialMs <= b.maxMs, { path: ['initialMs'], message: 'initialMs must not be larger than maxMs' })
      .prefault({}),
    idempotentTools: z.array(z.string().min(1)).default([]),
  })
  .strict();

export type RetrySettings = z.infer<typeof retrySchema>;

/**
 * How long a forwarded client request may take before the gateway cancels it upstream
 * (notifications/cancelled) and answers UPSTREAM_TIMEOUT: `tools` by tool name (as the server
 * names it), else `defaultMs`, else the server's requestTimeoutMs. Progress restarts the clock.
 */
export const timeoutsSchema = z
  .object({
    defaultMs: positiveMs.optional(),
    tools: z.record(z.string().min(1), positiveMs).default({}),
  })
  .strict();

export type TimeoutSettings = z.infer<typeof timeoutsSchema>;

/**
 * How a shared server's backends share its requests. `weighted`: smooth weighted round-robin.
 * `least-outstanding`: the backend with the fewest requests in flight for its weight (round-robin
 * by weight among equals, so an idle fleet is spread as `weighted` spreads it). `affinity:
 * session`: every request of one 2025 client session goes to the same backend while that one can
 * serve it (weighted rendezvous hashing of the session id: when a backend leaves, only its
 * sessions move); a 2026-07-28 request has no session and is balanced by the strategy.
 * `inputRounds`: where the retry of a 2026-07-28 server's `input_required` goes. `same-backend`
 * (the default) sends it back to the backend that asked while that one is ready, because a server
 * whose requestState is sealed under a key of its own process can open it nowhere else;
 * `any-backend` balances each round like any request, for servers whose replicas share their
 * state key (as the SDKs' sealing with shared keys allows), so no round is bound to one replica.
 */
export const balancingSchema = z
  .object({
    strategy: z.enum(['weighted', 'least-outstanding']).default('weighted'),
    affinity: z.enum(['none', 'session']).default('none'),
    inputRounds: z.enum(['same-backend', 'any-backend']).default('same-backend'),
  })
  .strict();

export type BalancingSettings = z.infer<typeof balancingSchema>;
