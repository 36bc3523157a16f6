import { LineDecoder } from './line-decoder';

describe('line decoder', () => {
  it('reassembles messages split across chunks and reports garbage lines without stopping', () => {
    const messages: unknown[] = [];
    const garbage: string[] = [];
    const d = new LineDecoder({ message: (m) => messages.push(m), garbage: (_l, problem) => garbage.push(problem) });
    d.push('{"jsonrpc":"2.0","id":1,"res');
    d.push('ult":{}}\nnot json\n{"jsonrpc":"1.0","method":"x"}\r\n\n{"jsonrpc":"2.0","method":"n"}\n');
    expect(messages).toEqual([{ jsonrpc: '2.0', id: 1, result: {} }, { jsonrpc: '2.0', method: 'n' }]);
    expect(garbage).toEqual(['not JSON', expect.stringContaining('"jsonrpc" must be "2.0"')]);
  });
});
