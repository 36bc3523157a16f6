import { depthOf, pruneDeepItems } from './list-items';

const nestedValue = (depth: number): unknown => JSON.parse('['.repeat(depth) + ']'.repeat(depth));

describe('list answers with items nested too deep', () => {
  it('leaves out only the items past the limit, by name', () => {
    const answer = {
      jsonrpc: '2.0',
      id: 1,
      result: {
        tools: [
          { name: 'ok', inputSchema: {} },
          { name: 'deep', inputSchema: nestedValue(10_000) },
        ],
        nextCursor: 'c',
      },
    };
    expect(pruneDeepItems(answer, 64)).toEqual({
      message: { jsonrpc: '2.0', id: 1, result: { tools: [{ name: 'ok', inputSchema: {} }], nextCursor: 'c' } },
      dropped: ['deep'],
    });
  });

  it('keeps an item exactly at the limit and gives up on answers too deep elsewhere', () => {
    // message 1, result 2, tools 3, item 4, inputSchema 5: 60 arrays more make 64
    const atLimit = { jsonrpc: '2.0', id: 1, result: { tools: [{ name: 'edge', inputSchema: nestedValue(60) }] } };
    expect(depthOf(atLimit, 100)).toBe(64);
    expect(pruneDeepItems(atLimit, 64)).toBeUndefined(); // nothing to leave out
    expect(pruneDeepItems({ jsonrpc: '2.0', id: 1, result: { tools: [], other: nestedValue(100) } }, 64)).toBeUndefined();
    expect(pruneDeepItems({ jsonrpc: '2.0', id: 1, result: { content: [nestedValue(100)] } }, 64)).toBeUndefined();
  });

  it('measures depth without recursion and stops counting past the bound', () => {
    expect(depthOf(nestedValue(200_000), 1000)).toBe(1001);
    expect(depthOf('text', 10)).toBe(0);
    expect(depthOf({ a: [1, { b: [] }] }, 10)).toBe(4);
  });
});
