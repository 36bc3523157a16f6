import { KeyedCap } from './keyed-cap';

describe('a cap counted per key', () => {
  const cap = () =>
    new KeyedCap(
      (key) => (key === 'small' ? 1 : 2),
      (key) => `things of ${key}`,
      (key) => `limits.${key}`,
    );

  it('refuses the slot past the limit naming what is full and the setting, and counts keys apart', () => {
    const c = cap();
    c.take('a');
    c.take('a');
    expect(() => c.take('a')).toThrow(
      expect.objectContaining({ code: 'LIMIT_REACHED', message: 'too many things of a: the limit is 2 (limits.a); try again later' }),
    );
    const small = c.take('small');
    expect(() => c.take('small')).toThrow('limit is 1');
    small();
    expect(c.count('small')).toBe(0);
    expect(c.count('a')).toBe(2);
  });

  it('gives a slot back once, however often its release runs', () => {
    const c = cap();
    const first = c.take('a');
    c.take('a');
    first();
    first();
    expect(c.count('a')).toBe(1);
    c.take('a');
    expect(() => c.take('a')).toThrow('too many');
  });
});
