import { scanJson } from './json-limits';

const limits = { maxDepth: 4, maxStringChars: 10 };
const nested = (depth: number) => '['.repeat(depth) + ']'.repeat(depth);

describe('the JSON limits scan', () => {
  it('passes a text at the limits and refuses one level or one character more', () => {
    expect(scanJson(`{"a":${nested(3)}}`, limits).problem).toBeUndefined();
    expect(scanJson(`{"a":${nested(4)}}`, limits).problem).toBe('the message nests deeper than the limit of 4 levels');
    expect(scanJson(`{"a":"${'x'.repeat(10)}"}`, limits).problem).toBeUndefined();
    expect(scanJson(`{"a":"${'x'.repeat(11)}"}`, limits).problem).toBe('a string is longer than the limit of 10 characters');
    expect(scanJson(`{"${'k'.repeat(11)}":1}`, limits).problem).toContain('longer than the limit');
  });

  it('does not count brackets and escaped quotes inside strings', () => {
    expect(scanJson(String.raw`{"a":"[[[[[\"[[[[","b":"\\"}`, { maxDepth: 2, maxStringChars: 100 }).problem).toBeUndefined();
    expect(scanJson(String.raw`{"a":"\\\"{{{{"}`, { maxDepth: 1, maxStringChars: 100 }).problem).toBeUndefined();
  });

  it('reads the top-level id and method wherever they stand, not nested ones', () => {
    expect(scanJson(`{"params":{"id":9,"x":${nested(9)}},"id":7,"method":"m","jsonrpc":"2.0"}`, limits)).toEqual({
      problem: expect.stringContaining('deeper'),
      id: 7,
      hasMethod: true,
      tooDeep: true,
    });
    expect(scanJson(`{ "result" : {"method":1}, "id" : "a\\"b" }`, limits)).toMatchObject({ id: 'a"b', hasMethod: false });
    expect(scanJson(`{"id":1e400}`, limits).id).toBeNull(); // not finite: no reply could carry it
    expect(scanJson(`["id",1]`, limits).id).toBeNull();
  });

  it('leaves text that is not JSON to JSON.parse', () => {
    expect(scanJson('{"a": "unterminated', limits).problem).toBeUndefined();
    expect(scanJson('', limits)).toEqual({ problem: undefined, id: null, hasMethod: false, tooDeep: false });
  });

  it('checks a 100,000-deep text without recursion', () => {
    expect(scanJson(nested(100_000), { maxDepth: 128, maxStringChars: 10 }).problem).toContain('128 levels');
  });
});
