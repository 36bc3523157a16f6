/**
 * The replay buffer of one 2025 HTTP session (SEP-1699 resumability): the SDK transport stores each
 * SSE event here before writing it, so a client whose stream closed mid-call (test_reconnection
 * closes it on purpose) reconnects with GET and Last-Event-ID and gets what it missed, the result
 * included. Bounded: past `capacity` events the oldest go, and a Last-Event-ID older than what is
 * kept replays nothing.
 */
import type { EventId, EventStore, JSONRPCMessage, StreamId } from '@modelcontextprotocol/server';

const DEFAULT_CAPACITY = 1_000;

interface StoredEvent {
  id: EventId;
  streamId: StreamId;
  message: JSONRPCMessage;
}

export class BoundedEventStore implements EventStore {
  private readonly events: StoredEvent[] = [];
  private next = 0;

  constructor(private readonly capacity = DEFAULT_CAPACITY) {}

  async storeEvent(streamId: StreamId, message: JSONRPCMessage): Promise<EventId> {
    const id = String(this.next++);
    this.events.push({ id, streamId, message });
    if (this.events.length > this.capacity) this.events.shift();
    return id;
  }

  async getStreamIdForEventId(eventId: EventId): Promise<StreamId | undefined> {
    return this.events.find((event) => event.id === eventId)?.streamId;
  }

  async replayEventsAfter(lastEventId: EventId, { send }: { send: (eventId: EventId, message: JSONRPCMessage) => Promise<void> }): Promise<StreamId> {
    const at = this.events.findIndex((event) => event.id === lastEventId);
    if (at < 0) throw new Error(`Unknown or expired Last-Event-ID: ${lastEventId}`);
    const { streamId } = this.events[at];
    for (const event of this.events.slice(at + 1)) {
      // Priming events hold an empty placeholder, not a message: the client already has their id.
      if (event.streamId === streamId && 'jsonrpc' in event.message) await send(event.id, event.message);
    }
    return streamId;
  }
}
