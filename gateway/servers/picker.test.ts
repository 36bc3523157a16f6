import { SmoothWeightedPicker } from './picker';

const count = (picker: SmoothWeightedPicker, candidates: { id: string; weight: number }[], n: number) => {
  const seen: Record<string, number> = {};
  for (let i = 0; i < n; i++) {
    const id = picker.pick(candidates)?.id ?? 'none';
    seen[id] = (seen[id] ?? 0) + 1;
  }
  return seen;
};

describe('smooth weighted round-robin', () => {
  it('gives each candidate exactly its share of every full cycle', () => {
    expect(
      count(
        new SmoothWeightedPicker(),
        [
          { id: 'a', weight: 80 },
          { id: 'b', weight: 20 },
        ],
        100,
      ),
    ).toEqual({ a: 80, b: 20 });
    expect(
      count(
        new SmoothWeightedPicker(),
        [
          { id: 'a', weight: 5 },
          { id: 'b', weight: 95 },
        ],
        200,
      ),
    ).toEqual({ a: 10, b: 190 });
  });

  it('interleaves instead of sending bursts to the heavier candidate', () => {
    const picker = new SmoothWeightedPicker();
    const order = Array.from(
      { length: 5 },
      () =>
        picker.pick([
          { id: 'a', weight: 4 },
          { id: 'b', weight: 1 },
        ])!.id,
    );
    expect(order).toEqual(['a', 'a', 'b', 'a', 'a']);
  });

  it('skips weight 0 and answers undefined when nothing has weight', () => {
    const picker = new SmoothWeightedPicker();
    expect(
      count(
        picker,
        [
          { id: 'a', weight: 0 },
          { id: 'b', weight: 3 },
        ],
        9,
      ),
    ).toEqual({ b: 9 });
    expect(picker.pick([{ id: 'a', weight: 0 }])).toBeUndefined();
  });

  it('restarts the cycle on reset, so a new split holds from the next pick', () => {
    const picker = new SmoothWeightedPicker();
    count(
      picker,
      [
        { id: 'a', weight: 50 },
        { id: 'b', weight: 50 },
      ],
      7,
    );
    picker.reset();
    expect(
      count(
        picker,
        [
          { id: 'a', weight: 75 },
          { id: 'b', weight: 25 },
        ],
        100,
      ),
    ).toEqual({ a: 75, b: 25 });
  });
});
