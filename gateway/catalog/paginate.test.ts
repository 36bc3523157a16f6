import { paginate } from './paginate';
import { FleetError } from '../protocol/errors';

const items = Array.from({ length: 7 }, (_, i) => ({ name: `t${i}` }));

describe('gateway cursors', () => {
  it('walks a merged list page by page and ends without nextCursor', () => {
    const seen: unknown[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = paginate('tools', items, cursor, 3);
      seen.push(...page.items);
      cursor = page.nextCursor;
      pages++;
    } while (cursor);
    expect(seen).toEqual(items);
    expect(pages).toBe(3);
  });

  it('returns everything without a cursor when the list fits one page', () => {
    expect(paginate('tools', items, undefined, 100)).toEqual({ items });
  });

  it('refuses a foreign, garbled or other-list cursor with invalid params', () => {
    const toolCursor = paginate('tools', items, undefined, 3).nextCursor!;
    for (const bad of ['garbage', 42, toolCursor.slice(2)]) {
      expect(() => paginate('tools', items, bad, 3)).toThrow(FleetError);
    }
    try {
      paginate('prompts', items, toolCursor, 3);
      throw new Error('accepted');
    } catch (err) {
      expect((err as FleetError).jsonRpcCode).toBe(-32602);
    }
  });
});
