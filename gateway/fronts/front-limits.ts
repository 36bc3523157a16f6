/**
 * The client-facing limits of the config (`limits:`) as the fronts apply them: the JSON limits
 * every client message passes before it is parsed, and the send-queue bound of a stream.
 */
import type { GatewaySettings } from '../config/schema';
import { DEFAULT_MAX_DEPTH, type JsonLimits } from '../protocol/json-limits';
import { UNBOUNDED, type SendQueueLimit } from './sse-stream';

export type FrontLimits = GatewaySettings['limits'];

export function clientJsonLimits(limits: FrontLimits): JsonLimits {
  return { maxDepth: limits.maxJsonDepth, maxStringChars: limits.maxStringChars };
}

/** The default depth and strings bounded by the message alone: for fronts built without a config (unit tests). */
export function defaultJson(maxMessageBytes: number): JsonLimits {
  return { maxDepth: DEFAULT_MAX_DEPTH, maxStringChars: maxMessageBytes };
}

/** A stream's send-queue bound, telling `dropped` how much was queued when it dropped a client. */
export function sendQueue(maxQueuedBytes: number | undefined, dropped: (queuedBytes: number) => void): SendQueueLimit {
  return maxQueuedBytes === undefined ? UNBOUNDED : { maxQueuedBytes, dropped };
}

/** node:http's timeouts for a listener: slow-loris headers and trickled or short bodies get 408 and are closed. */
export function listenerTimeouts(limits: FrontLimits): { headersTimeout: number; requestTimeout: number; connectionsCheckingInterval: number } {
  return {
    headersTimeout: limits.headersTimeoutMs,
    requestTimeout: limits.requestTimeoutMs,
    // how often node looks for requests past those timeouts (its default, 30 s, would let them live that much longer)
    connectionsCheckingInterval: Math.min(1000, limits.headersTimeoutMs),
  };
}
