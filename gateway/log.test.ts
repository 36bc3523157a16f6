import { isoTime } from './log';

describe('isoTime', () => {
  it("is pino's isoTime for every millisecond, across seconds and when the clock goes back", () => {
    const start = Date.UTC(2026, 11, 31, 23, 59, 58, 990);
    const times = [
      ...Array.from({ length: 2100 }, (_, i) => start + i),
      start - 86_400_000, // the clock was set back a day
      start + 5,
      0,
    ];
    for (const t of times) expect(isoTime(t)).toBe(`,"time":"${new Date(t).toISOString()}"`);
  });

  it('tells the time now when pino asks (without an argument)', () => {
    const before = Date.now();
    const told = Date.parse(JSON.parse(`{${isoTime().slice(1)}}`).time);
    expect(told).toBeGreaterThanOrEqual(before);
    expect(told).toBeLessThanOrEqual(Date.now());
  });
});
