import { LineDecoder, LineSplitter } from './line-framing';
import type { Refused } from './frames';
import type { JsonRpcMessage } from './jsonrpc';

function collect(options: { maxLineBytes?: number } = {}) {
  const messages: JsonRpcMessage[] = [];
  const refusals: { code: string; message: string; id: unknown; line: string; response?: boolean }[] = [];
  const decoder = new LineDecoder(
    {
      message: (m) => messages.push(m),
      refused: (r: Refused, line) => refusals.push({ code: r.error.code, message: r.error.message, id: r.id, line, response: r.overLimit?.response }),
    },
    options,
  );
  return { decoder, messages, refusals };
}

const echo = (id: number, text: string) => ({ jsonrpc: '2.0', id, method: 'tools/call', params: { name: 'echo', arguments: { message: text } } });

describe('line framing', () => {
  it('reads the id of a cut line from its start or its end, and tells a response from a request', () => {
    const { decoder, refusals } = collect({ maxLineBytes: 100 });
    const pad = 'x'.repeat(5000);
    // the SDK writes a response's id last, a request's method first; others write the id first
    decoder.push(Buffer.from(`{"result":{"content":[{"text":"${pad}","id":1}]},"jsonrpc":"2.0","id":42}\n`));
    decoder.push(Buffer.from(`{"method":"sampling/createMessage","params":{"m":"${pad}"},"jsonrpc":"2.0","id":"s1"}\n`));
    decoder.push(Buffer.from(`{"jsonrpc":"2.0","id":"r7","result":{"t":"${pad}"}}\n`));
    decoder.push(Buffer.from(`{"jsonrpc":"2.0","result":{"t":"${pad}","nested":{"id":3}}}\n`));
    expect(refusals.map((r) => [r.id, r.response])).toEqual([
      [42, true],
      ['s1', false],
      ['r7', true],
      [null, false],
    ]);
  });

  it('decodes multi-byte characters split at every byte position across reads', () => {
    const lines = [echo(1, 'é€😀'), echo(2, 'aé'), echo(3, '😀😀€'), echo(4, '€é')];
    const bytes = Buffer.from(lines.map((l) => JSON.stringify(l) + '\n').join(''));
    for (let i = 0; i <= bytes.length; i++) {
      for (const j of [i + 1, i + 2, i + 3].map((k) => Math.min(bytes.length, k))) {
        const { decoder, messages, refusals } = collect();
        decoder.push(bytes.subarray(0, i));
        decoder.push(bytes.subarray(i, j));
        decoder.push(bytes.subarray(j));
        expect(refusals).toEqual([]);
        expect(messages).toEqual(lines);
      }
    }
    const byByte = collect();
    for (let i = 0; i < bytes.length; i++) byByte.decoder.push(bytes.subarray(i, i + 1));
    expect(byByte.messages).toEqual(lines);
  });

  it('takes CRLF and blank lines, and reports garbage between good lines by kind without stopping', () => {
    const { decoder, messages, refusals } = collect();
    decoder.push(Buffer.from('{"jsonrpc":"2.0","id":1,"res'));
    decoder.push(Buffer.from('ult":{}}\r\n\r\n  \nnot json\n{"jsonrpc":"1.0","id":9,"method":"x"}\r'));
    decoder.push(Buffer.from('\n{"jsonrpc":"2.0","id":1e400,"method":"tools/list"}\n{"jsonrpc":"2.0","method":"n"}\n'));
    expect(messages).toEqual([
      { jsonrpc: '2.0', id: 1, result: {} },
      { jsonrpc: '2.0', method: 'n' },
    ]);
    expect(refusals).toEqual([
      { code: 'PARSE_ERROR', message: expect.stringContaining('the line is not valid JSON'), id: null, line: 'not json' },
      { code: 'INVALID_REQUEST', message: expect.stringContaining('"jsonrpc" must be "2.0"'), id: 9, line: '{"jsonrpc":"1.0","id":9,"method":"x"}' },
      { code: 'INVALID_REQUEST', message: expect.stringContaining('"id" must be a finite number'), id: null, line: expect.stringContaining('1e400') },
    ]);
  });

  it('skips a line over the limit without keeping it, reports it once, and delivers the next line', () => {
    const { decoder, messages, refusals } = collect({ maxLineBytes: 1000 });
    decoder.push(Buffer.from('{"jsonrpc":"2.0","method":"before"}\n'));
    const long = JSON.stringify(echo(5, '€'.repeat(5000))); // 15,000+ bytes, fed in 64-byte reads
    const bytes = Buffer.from(long + '\n{"jsonrpc":"2.0","method":"after"}\n');
    for (let i = 0; i < bytes.length; i += 64) decoder.push(bytes.subarray(i, i + 64));
    expect(messages).toEqual([
      { jsonrpc: '2.0', method: 'before' },
      { jsonrpc: '2.0', method: 'after' },
    ]);
    expect(refusals).toHaveLength(1);
    // reported when the line ended, with the id its end shows, so the request it answered can fail at once
    expect(refusals[0]).toMatchObject({ code: 'BODY_TOO_LARGE', message: expect.stringContaining('longer than the limit of 1000 bytes'), id: 5 });
    // the start of the line, cut before a character the limit would split
    expect(long.startsWith(refusals[0].line)).toBe(true);
    expect(refusals[0].line).not.toContain('\ufffd');
    // a line of exactly the limit still passes
    const exact = JSON.stringify({ jsonrpc: '2.0', method: 'm', params: { pad: '' } });
    const padded = JSON.stringify({ jsonrpc: '2.0', method: 'm', params: { pad: 'x'.repeat(1000 - exact.length) } });
    decoder.push(Buffer.from(padded + '\n'));
    expect(Buffer.byteLength(padded)).toBe(1000);
    expect(messages).toHaveLength(3);
  });

  it('does work linear in the input: a 32 MiB line in 64 KiB reads is searched, copied and decoded once', () => {
    const text = 'é€😀 plain text '.repeat(1_600_000); // 32 MiB of UTF-8, 21 bytes a repeat
    const line = Buffer.from(JSON.stringify(echo(1, text)) + '\n');
    expect(line.length).toBeGreaterThan(32 * 1024 * 1024);
    const { decoder, messages, refusals } = collect();
    for (let i = 0; i < line.length; i += 64 * 1024) decoder.push(line.subarray(i, i + 64 * 1024));
    expect(refusals).toEqual([]);
    const got = (messages[0] as unknown as ReturnType<typeof echo>).params.arguments.message;
    expect(got.length).toBe(text.length);
    expect(got === text).toBe(true); // not toEqual: a diff of 32 MiB strings is no help
    // The old decoder copied and searched the whole buffer on every read: ~512 reads x 16 MiB on average.
    expect(decoder.work.scanned).toBe(line.length);
    expect(decoder.work.copied).toBeLessThanOrEqual(line.length);
    expect(decoder.work.decoded).toBeLessThanOrEqual(line.length);
  });

  it('delivers a last line without newline when the stream ends (stderr)', () => {
    const lines: string[] = [];
    const splitter = new LineSplitter({ line: (l) => lines.push(l), oversized: () => {} });
    splitter.push(Buffer.from('first\r\nsec'));
    splitter.push(Buffer.from('ond é'));
    splitter.push(Buffer.from([0xe2, 0x82]));
    splitter.push(Buffer.from([0xac]));
    splitter.end();
    expect(lines).toEqual(['first', 'second é€']);
  });
});
