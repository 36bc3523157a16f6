/**
 * Keeps recent server→client events of each Streamable HTTP session so a client that reconnects
 * with Last-Event-ID gets what it missed. One store per session, so it ends with the session;
 * bounded, keeping only the newest events of each stream.
 */
import type { EventStore } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';

interface StoredEvent {
  id: string;
  message: JSONRPCMessage;
}

export class BoundedEventStore implements EventStore {
  private readonly streams = new Map<string, StoredEvent[]>();
  private seq = 0;

  constructor(private readonly perStream = 1000) {}

  async storeEvent(streamId: string, message: JSONRPCMessage): Promise<string> {
    const id = `${streamId}::${++this.seq}`;
    let events = this.streams.get(streamId);
    if (!events) this.streams.set(streamId, (events = []));
    events.push({ id, message });
    if (events.length > this.perStream) events.splice(0, events.length - this.perStream);
    return id;
  }

  async getStreamIdForEventId(eventId: string): Promise<string | undefined> {
    const i = eventId.lastIndexOf('::');
    return i > 0 ? eventId.slice(0, i) : undefined;
  }

  async replayEventsAfter(lastEventId: string, { send }: { send: (eventId: string, message: JSONRPCMessage) => Promise<void> }): Promise<string> {
    const streamId = (await this.getStreamIdForEventId(lastEventId)) ?? '';
    const events = this.streams.get(streamId) ?? [];
    const after = Number(lastEventId.slice(lastEventId.lastIndexOf('::') + 2));
    for (const e of events) {
      if (Number(e.id.slice(e.id.lastIndexOf('::') + 2)) > after) await send(e.id, e.message);
    }
    return streamId;
  }
}
