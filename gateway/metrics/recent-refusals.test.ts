import { RecentRefusals } from './recent-refusals';

describe('RecentRefusals', () => {
  it('keeps the newest first and only as many as it holds', () => {
    const recent = new RecentRefusals(3);
    expect(recent.list()).toEqual([]);
    for (const reason of ['a', 'b']) recent.add({ kind: 'auth', reason });
    expect(recent.list().map((r) => r.reason)).toEqual(['b', 'a']);
    for (const reason of ['c', 'd', 'e']) recent.add({ kind: 'limit', reason, server: 's' });
    expect(recent.list().map((r) => r.reason)).toEqual(['e', 'd', 'c']);
    expect(recent.list()[0]).toMatchObject({ kind: 'limit', server: 's', at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) });
  });
});
