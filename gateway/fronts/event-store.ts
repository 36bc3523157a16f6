/**
 * The SSE events of one Streamable HTTP session, kept so that a client that lost a stream can
 * reconnect with Last-Event-ID and get what it missed on that stream. Bounded in total, across all
 * of the session's streams: a number of events, their size and the number of streams. The oldest
 * events go first, so a long session never holds more than the limits, however many streams it opened.
 *
 * An event id is `<stream>-<seq>`: the stream it belongs to, and a counter that is unique in the session.
 */

export interface EventStoreLimits {
  /** Events kept across all streams. */
  maxEvents: number;
  /** Characters of event data (JSON text) kept across all streams. */
  maxChars: number;
  /** Streams with kept events; the first event of one more stream drops the oldest stream's events. */
  maxStreams: number;
}

export const DEFAULT_EVENT_STORE_LIMITS: EventStoreLimits = { maxEvents: 1000, maxChars: 2 * 1024 * 1024, maxStreams: 100 };

export interface StoredEvent {
  id: string;
  data: string;
}

export interface Replay {
  stream: number;
  /** The kept events of that stream after the cursor, oldest first. */
  events: StoredEvent[];
  /** Some events of the stream after the cursor were evicted before the client came back. */
  gap: boolean;
}

interface Entry extends StoredEvent {
  stream: number;
  seq: number;
}

interface StreamState {
  kept: number;
  /** The highest sequence number of this stream's events that eviction removed. */
  evictedUpTo: number;
}

export class SessionEventStore {
  /** Every kept event, oldest first. */
  private events: Entry[] = [];
  /** Streams with kept events, oldest first (Map keeps insertion order). */
  private readonly streams = new Map<number, StreamState>();
  private chars = 0;
  private seq = 0;

  constructor(private readonly limits: EventStoreLimits = DEFAULT_EVENT_STORE_LIMITS) {}

  get size(): { events: number; chars: number; streams: number } {
    return { events: this.events.length, chars: this.chars, streams: this.streams.size };
  }

  /** Keeps an event of `stream` and returns its id. */
  append(stream: number, data: string): string {
    const seq = ++this.seq;
    const id = `${stream}-${seq}`;
    let state = this.streams.get(stream);
    if (!state) {
      state = { kept: 0, evictedUpTo: 0 };
      this.streams.set(stream, state);
      if (this.streams.size > this.limits.maxStreams) this.dropStream(this.streams.keys().next().value!);
    }
    this.events.push({ id, data, stream, seq });
    state.kept++;
    this.chars += data.length;
    while (this.events.length > this.limits.maxEvents || (this.chars > this.limits.maxChars && this.events.length > 0)) this.evictOldest();
    return id;
  }

  /** An id for an event that carries no message (the SSE priming event): a cursor, nothing to replay. */
  cursor(stream: number): string {
    return `${stream}-${++this.seq}`;
  }

  /** The kept events of the stream `lastEventId` belongs to, after it; undefined if the id is not one of ours. */
  replayAfter(lastEventId: string): Replay | undefined {
    const cursor = parseEventId(lastEventId);
    if (!cursor || cursor.seq > this.seq) return undefined;
    const events: StoredEvent[] = [];
    for (const e of this.events) if (e.stream === cursor.stream && e.seq > cursor.seq) events.push({ id: e.id, data: e.data });
    const gap = (this.streams.get(cursor.stream)?.evictedUpTo ?? 0) > cursor.seq;
    return { stream: cursor.stream, events, gap };
  }

  clear(): void {
    this.events = [];
    this.streams.clear();
    this.chars = 0;
  }

  private evictOldest(): void {
    const e = this.events.shift()!;
    this.chars -= e.data.length;
    const state = this.streams.get(e.stream)!;
    state.evictedUpTo = e.seq;
    if (--state.kept === 0) this.streams.delete(e.stream);
  }

  private dropStream(stream: number): void {
    this.streams.delete(stream);
    this.events = this.events.filter((e) => {
      if (e.stream !== stream) return true;
      this.chars -= e.data.length;
      return false;
    });
  }
}

/** `<stream>-<seq>` with both parts non-negative integers, or undefined. */
export function parseEventId(id: string): { stream: number; seq: number } | undefined {
  const m = /^(\d{1,15})-(\d{1,15})$/.exec(id);
  return m ? { stream: Number(m[1]), seq: Number(m[2]) } : undefined;
}
