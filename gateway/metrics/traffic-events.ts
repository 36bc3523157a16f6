/**
 * Live traffic for operators: the events of calls (start, end), client sessions (opened, closed)
 * and upstreams (up, down), handed to whoever subscribes (the admin debug stream), each with its
 * own filter. Nothing is kept: with no subscriber, publishing costs one check. A subscriber gets
 * arguments and results only when it asked for bodies (the stream lets only `admin` ask); they are
 * cut at MAX_BODY_CHARS, values under secret-like keys are masked, and every line passes the
 * secret redaction (known secret values become `[secret]`), as log lines do.
 */
import { redactSecrets } from '../protocol/redaction';

/** What a call event says; bodies come apart, for subscribers that asked. */
export interface CallFields {
  server: string;
  backend: string;
  method: string;
  /** The server's own name of the tool, for tools/call. */
  tool?: string;
  trace: string;
  requestId?: string;
  principal: string;
  /** The client session (2025) or stateless client (2026) the call came from. */
  client: string;
}

export type TrafficEvent =
  | ({ type: 'call.start' } & CallFields)
  | ({ type: 'call.end'; outcome: string; ms: number } & CallFields)
  | { type: 'session.open' | 'session.close'; session: string; front: string; principal: string }
  | { type: 'upstream.up' | 'upstream.down'; server: string };

/** Which events a subscriber wants: each given field must equal the event's (an event without the field does not match). */
export interface TrafficFilter {
  server?: string;
  tool?: string;
  principal?: string;
  trace?: string;
  requestId?: string;
  /** Arguments (call.start) and results (call.end) too. */
  bodies: boolean;
}

export const FILTER_KEYS = ['server', 'tool', 'principal', 'trace', 'requestId'] as const;

export const MAX_BODY_CHARS = 4096;
const SECRET_KEY = /authorization|token|secret|password|passwd|api[-_]?key|cookie|credential/i;
const MAX_DEPTH = 8;

/** Where a subscriber's lines go; `write` answers false once it holds more than its bound (the subscriber is then dropped). */
export interface TrafficSink {
  write(line: string): boolean;
  drop(): void;
}

interface Subscriber {
  filter: TrafficFilter;
  sink: TrafficSink;
}

export class TrafficEvents {
  private readonly subscribers = new Set<Subscriber>();
  private droppedCount = 0;

  /** Whether anyone listens: a caller whose event is costly to build (the tap stage) skips it when not. */
  get listening(): boolean {
    return this.subscribers.size > 0;
  }

  get subscriberCount(): number {
    return this.subscribers.size;
  }

  /** Subscribers dropped so far because they did not keep up. */
  get dropped(): number {
    return this.droppedCount;
  }

  /** Adds a subscriber; the returned function removes it (also after it was dropped). */
  subscribe(filter: TrafficFilter, sink: TrafficSink): () => void {
    const s = { filter, sink };
    this.subscribers.add(s);
    return () => this.subscribers.delete(s);
  }

  /** Hands `event` to every subscriber whose filter it passes; `bodies` is asked only if one wants them. */
  publish(event: TrafficEvent, bodies?: () => Record<string, unknown>): void {
    if (this.subscribers.size === 0) return;
    let plain: string | undefined;
    let full: string | undefined;
    const at = new Date().toISOString();
    for (const s of this.subscribers) {
      if (!matches(s.filter, event)) continue;
      const line = s.filter.bodies && bodies ? (full ??= render({ at, ...event, ...masked(bodies()) })) : (plain ??= render({ at, ...event }));
      if (s.sink.write(line)) continue;
      this.subscribers.delete(s);
      this.droppedCount++;
      s.sink.drop();
    }
  }
}

function matches(filter: TrafficFilter, event: TrafficEvent): boolean {
  for (const key of FILTER_KEYS) {
    const wanted = filter[key];
    if (wanted !== undefined && (event as Record<string, unknown>)[key] !== wanted) return false;
  }
  return true;
}

function render(event: Record<string, unknown>): string {
  return redactSecrets(JSON.stringify(event));
}

/** Bodies with secret-like keys masked and each cut to MAX_BODY_CHARS of JSON (then a string saying so). */
function masked(bodies: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(bodies)) {
    if (value === undefined) continue;
    const clean = mask(value, 0);
    const text = JSON.stringify(clean);
    out[key] = text.length > MAX_BODY_CHARS ? `${text.slice(0, MAX_BODY_CHARS)}… (${text.length} characters, cut)` : clean;
  }
  return out;
}

function mask(value: unknown, depth: number): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (depth >= MAX_DEPTH) return '[deeper]';
  if (Array.isArray(value)) return value.map((v) => mask(v, depth + 1));
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, SECRET_KEY.test(k) ? '[masked]' : mask(v, depth + 1)]));
}
