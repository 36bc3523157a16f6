import { parseEventId, SessionEventStore } from './event-store';

const limits = { maxEvents: 5, maxChars: 1000, maxStreams: 3 };

describe('session event store', () => {
  it('gives ids unique across streams that name their stream, and replays a stream after a cursor', () => {
    const store = new SessionEventStore(limits);
    const a1 = store.append(1, '"a1"');
    store.append(2, '"b1"');
    const a2 = store.append(1, '"a2"');
    expect(new Set([a1, a2]).size).toBe(2);
    expect(parseEventId(a2)?.stream).toBe(1);
    expect(store.replayAfter(a1)).toEqual({ stream: 1, events: [{ id: a2, data: '"a2"' }], gap: false });
    expect(store.replayAfter(a2)?.events).toEqual([]);
  });

  it('treats a priming cursor as the start of its stream', () => {
    const store = new SessionEventStore(limits);
    const primed = store.cursor(4);
    const first = store.append(4, '"x"');
    expect(store.replayAfter(primed)?.events).toEqual([{ id: first, data: '"x"' }]);
    expect(store.size.events).toBe(1); // the priming event itself is not kept
  });

  it('refuses ids it never gave: malformed, or beyond the last one', () => {
    const store = new SessionEventStore(limits);
    store.append(0, '"x"');
    for (const id of ['', 'abc', '1::2', '0-99', '-1-1', '0-1-2']) expect(store.replayAfter(id)).toBeUndefined();
  });

  it('bounds the events in total across streams, evicting the oldest and reporting the gap', () => {
    const store = new SessionEventStore(limits);
    const cursor = store.cursor(1);
    store.append(1, '"first"');
    for (let i = 0; i < 6; i++) store.append(i % 2 ? 1 : 2, `"${i}"`);
    expect(store.size.events).toBe(5);
    const replay = store.replayAfter(cursor)!;
    expect(replay.gap).toBe(true);
    expect(replay.events.map((e) => e.data)).toEqual(['"1"', '"3"', '"5"']);
  });

  it('bounds the number of streams: one more stream drops the oldest stream whole', () => {
    const store = new SessionEventStore(limits);
    const cursors = [1, 2, 3].map((s) => store.cursor(s));
    for (const s of [1, 2, 3]) store.append(s, `"s${s}"`);
    store.append(4, '"s4"');
    expect(store.size).toEqual({ events: 3, chars: 12, streams: 3 });
    expect(store.replayAfter(cursors[0])?.events).toEqual([]);
    expect(store.replayAfter(cursors[1])?.events.map((e) => e.data)).toEqual(['"s2"']);
  });

  it('bounds the size of the kept data, even when one event alone is larger', () => {
    const store = new SessionEventStore({ maxEvents: 100, maxChars: 10, maxStreams: 10 });
    store.append(0, '"abcd"');
    store.append(0, '"efgh"');
    expect(store.size).toEqual({ events: 1, chars: 6, streams: 1 });
    store.append(0, `"${'x'.repeat(20)}"`);
    expect(store.size).toEqual({ events: 0, chars: 0, streams: 0 });
  });

  it('stays bounded over a long session of many short streams', () => {
    const store = new SessionEventStore(limits);
    for (let stream = 1; stream <= 10_000; stream++) {
      store.cursor(stream);
      store.append(stream, '{"jsonrpc":"2.0","method":"notifications/progress"}');
      store.append(stream, '{"jsonrpc":"2.0","id":1,"result":{}}');
    }
    expect(store.size.events).toBeLessThanOrEqual(limits.maxEvents);
    expect(store.size.streams).toBeLessThanOrEqual(limits.maxStreams);
    store.clear();
    expect(store.size).toEqual({ events: 0, chars: 0, streams: 0 });
  });
});
