import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FdLineWriter } from './log-writer';

describe('FdLineWriter', () => {
  let dir: string;
  let file: string;
  let fd: number;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'log-writer-'));
    file = join(dir, 'log');
    fd = openSync(file, 'w');
  });
  afterEach(() => {
    closeSync(fd);
    rmSync(dir, { recursive: true, force: true });
  });

  const turnEnds = () => new Promise<void>((r) => setImmediate(r));

  it("writes a turn's lines together once the turn ends, in the order they came", async () => {
    const writer = new FdLineWriter(
      fd,
      1024,
      () => {},
      () => {},
    );
    writer.write('{"n":1}\n');
    writer.write('{"n":2}\n');
    writer.write('{"n":3}\n');
    // nothing yet: the lines wait for the end of the turn that logged them
    expect(readFileSync(file, 'utf8')).toBe('');
    await turnEnds();
    expect(readFileSync(file, 'utf8')).toBe('{"n":1}\n{"n":2}\n{"n":3}\n');
    writer.write('{"n":4}\n');
    await turnEnds();
    expect(readFileSync(file, 'utf8')).toBe('{"n":1}\n{"n":2}\n{"n":3}\n{"n":4}\n');
  });

  it('writes at once a turn that logs more than its bound, and at exit what the turn still holds', () => {
    const writer = new FdLineWriter(
      fd,
      16,
      () => {},
      () => {},
    );
    writer.write('{"line":"first"}\n');
    expect(readFileSync(file, 'utf8')).toBe('{"line":"first"}\n');
    writer.write('{"n":2}\n');
    expect(readFileSync(file, 'utf8')).toBe('{"line":"first"}\n');
    writer.flushSync();
    expect(readFileSync(file, 'utf8')).toBe('{"line":"first"}\n{"n":2}\n');
  });
});
