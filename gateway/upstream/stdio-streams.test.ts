import { PassThrough } from 'node:stream';
import { MAX_STDERR_LINE_BYTES, readLines } from './stdio-streams';

describe('stderr lines', () => {
  it('decodes characters split across reads, cuts very long lines at once, and delivers a last line without newline', async () => {
    const stream = new PassThrough();
    const lines: string[] = [];
    readLines(stream, (l) => lines.push(l));
    const bytes = Buffer.from('warn: é€😀\r\n\n');
    for (let i = 0; i < bytes.length; i++) stream.write(bytes.subarray(i, i + 1));
    const long = '€'.repeat(MAX_STDERR_LINE_BYTES); // three times the limit in bytes
    stream.write(Buffer.from(`${long}\nnext line\nlast without newline`));
    const ended = new Promise((r) => stream.once('end', r));
    stream.end();
    await ended;
    expect(lines).toHaveLength(4);
    expect(lines[0]).toBe('warn: é€😀');
    expect(lines[1]).toMatch(new RegExp(`^€+… \\[line cut: longer than ${MAX_STDERR_LINE_BYTES} bytes\\]$`));
    expect(Buffer.byteLength(lines[1].slice(0, lines[1].indexOf('…')))).toBeGreaterThan(MAX_STDERR_LINE_BYTES - 3);
    expect(lines.slice(2)).toEqual(['next line', 'last without newline']);
  });
});
