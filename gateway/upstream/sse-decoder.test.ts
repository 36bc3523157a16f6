import { SseDecoder, type SseEvent } from './sse-decoder';

function decode(chunks: string[]): { events: SseEvent[]; decoder: SseDecoder } {
  const events: SseEvent[] = [];
  const decoder = new SseDecoder((e) => events.push(e));
  for (const c of chunks) decoder.push(c);
  return { events, decoder };
}

describe('SSE decoder', () => {
  it('decodes events cut anywhere, with every line ending, and keeps ids and retry', () => {
    const stream = '\ufeff: keep-alive\nid: 1\ndata:\n\nretry: 2500\nid: 2\nevent: message\ndata: {"a":1}\r\n\r\ndata: line one\rdata:line two\r\rid: 3\ndata: x\n\n';
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
});
