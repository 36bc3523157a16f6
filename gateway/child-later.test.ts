import { Writable } from 'node:stream';
import pino from 'pino';
import { childLater } from './child-later';

function capturing(level: string) {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const text of chunk.toString().split('\n')) if (text) lines.push(JSON.parse(text) as Record<string, unknown>);
      done();
    },
  });
  const base = pino({ level, base: { service: 's' } }, stream).child({ session: 'a' });
  return { base, lines, childCalls: jest.spyOn(base, 'child') };
}

/** pino writes to the stream asynchronously (a Writable), so a test waits for its write callback. */
const written = () => new Promise<void>((r) => setImmediate(r));

describe('childLater', () => {
  it('writes the bindings of every layer on each line, in order, through one child made at the first line', async () => {
    const { base, lines, childCalls } = capturing('info');
    const log = childLater(childLater(base, { requestId: 'r1' }), { trace: 't1' });
    expect(childCalls).not.toHaveBeenCalled();
    log.info({ outcome: 'ok' }, 'call');
    log.warn('second');
    await written();
    expect(childCalls).toHaveBeenCalledTimes(1);
    expect(lines).toEqual([
      expect.objectContaining({ session: 'a', requestId: 'r1', trace: 't1', outcome: 'ok', msg: 'call' }),
      expect.objectContaining({ session: 'a', requestId: 'r1', trace: 't1', msg: 'second' }),
    ]);
    expect(Object.keys(lines[0]).filter((k) => ['session', 'requestId', 'trace'].includes(k))).toEqual(['session', 'requestId', 'trace']);
    expect(log.bindings()).toEqual({ service: 's', session: 'a', requestId: 'r1', trace: 't1' });
  });

  it('makes no child for lines at a level the logger does not write', async () => {
    const { base, lines, childCalls } = capturing('warn');
    const log = childLater(childLater(base, { requestId: 'r1' }), { trace: 't1' });
    log.info({ outcome: 'ok' }, 'call');
    log.debug('detail');
    await written();
    expect(childCalls).not.toHaveBeenCalled();
    expect(lines).toEqual([]);
    log.error('failed');
    await written();
    expect(lines).toEqual([expect.objectContaining({ requestId: 'r1', trace: 't1', msg: 'failed' })]);
  });

  it('binds onto a child already made as onto any logger, and keeps the level set through it', async () => {
    const { base, lines } = capturing('info');
    const first = childLater(base, { requestId: 'r1' });
    first.info('made');
    const second = childLater(first, { trace: 't1' });
    second.level = 'debug';
    second.debug('detail');
    await written();
    expect(lines).toEqual([
      expect.objectContaining({ requestId: 'r1', msg: 'made' }),
      expect.objectContaining({ requestId: 'r1', trace: 't1', msg: 'detail' }),
    ]);
    expect(second.isLevelEnabled('debug')).toBe(true);
    expect(base.isLevelEnabled('debug')).toBe(false);
  });
});
