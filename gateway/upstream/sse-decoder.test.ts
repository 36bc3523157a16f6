import { SseDecoder, type SseEvent } from './sse-decoder';

function decode(chunks: string[]): { events: SseEvent[]; decoder: SseDecoder } {
  const events: SseEvent[] = [];
  const decoder = new SseDecoder((e) => events.push(e));
  for (const c of chunks) decoder.push(c);
  return { events, decoder };
}

describe('SSE decoder', () => {
  it('decodes events cut anywhere, with every line ending, and keeps ids and retry', () => {
    const stream =
      '\ufeff: keep-alive\nid: 1\ndata:\n\nretry: 2500\nid: 2\nevent: message\ndata: {"a":1}\r\n\r\ndata: line one\rdata:line two\r\rid: 3\ndata: x\n\n';
    const whole = decode([stream]);
    // every split point, including between \r and \n
    for (let i = 1; i < stream.length; i++) {
      const split = decode([stream.slice(0, i), stream.slice(i)]);
      expect(split.events).toEqual(whole.events);
    }
    expect(decode([...stream]).events).toEqual(whole.events);
    expect(whole.events).toEqual([
      { event: 'message', data: '', id: '1' },
      { event: 'message', data: '{"a":1}', id: '2' },
      { event: 'message', data: 'line one\nline two', id: '2' },
      { event: 'message', data: 'x', id: '3' },
    ]);
    expect(whole.decoder.retryMs).toBe(2500);
    expect(whole.decoder.lastEventId).toBe('3');
  });

  it('updates the last event id on events without data, and drops an event the stream did not finish', () => {
    const { events, decoder } = decode(['event: ping\n\nid: 7\n\n', 'data: {"cut":']);
    expect(events).toEqual([]);
    expect(decoder.lastEventId).toBe('7');
  });

  it('passes event types through and ignores unknown fields and bad retry values', () => {
    const { events, decoder } = decode(['event: endpoint\nfoo: bar\nretry: soon\ndata: /x\n\n']);
    expect(events).toEqual([{ event: 'endpoint', data: '/x', id: undefined }]);
    expect(decoder.retryMs).toBeUndefined();
  });

  it('does work linear in the input on one 32 MiB single-line event fed in 64 KiB chunks', () => {
    const payload = JSON.stringify({ jsonrpc: '2.0', id: 1, result: { text: 'é€😀 plain text '.repeat(2_100_000) } });
    const stream = `id: 9\ndata: ${payload}\n\n`;
    expect(stream.length).toBeGreaterThan(32 * 1024 * 1024);
    const events: SseEvent[] = [];
    const decoder = new SseDecoder((e) => events.push(e));
    for (let i = 0; i < stream.length; i += 64 * 1024) decoder.push(stream.slice(i, i + 64 * 1024));
    expect(events).toHaveLength(1);
    expect(events[0].data.length).toBe(payload.length);
    expect(events[0].data === payload).toBe(true); // not toEqual: a diff of 32 MiB strings is no help
    // The old decoder searched `partial + chunk` afresh on every chunk: ~512 chunks x 16 Mi on average.
    expect(decoder.work.scanned).toBeLessThanOrEqual(2 * stream.length); // once for \n, once for \r
    expect(decoder.work.joined).toBeLessThanOrEqual(stream.length);
  });

  it('drops an event over the limit, says so once, keeps its id, and decodes the next event', () => {
    const oversized: number[] = [];
    const events: SseEvent[] = [];
    const decoder = new SseDecoder((e) => events.push(e), { maxEventChars: 100, oversized: (max) => oversized.push(max) });
    const stream = `data: small\n\nid: 2\ndata: ${'x'.repeat(500)}\ndata: more\n\n: many short data lines\ndata: ${'y'.repeat(60)}\ndata: ${'z'.repeat(60)}\n\ndata: after\n\n`;
    for (let i = 0; i < stream.length; i += 7) decoder.push(stream.slice(i, i + 7));
    expect(events).toEqual([
      { event: 'message', data: 'small', id: undefined },
      { event: 'message', data: 'after', id: '2' },
    ]);
    expect(oversized).toEqual([100, 100]);
    expect(decoder.lastEventId).toBe('2');
  });
});
