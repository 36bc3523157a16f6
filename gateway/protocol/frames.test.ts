import { parseMessage, parseMessageOrBatch, type ParsedMessage } from './frames';

function refusal(parsed: ParsedMessage) {
  if (parsed.ok) throw new Error(`expected a refusal, got ${JSON.stringify(parsed.message)}`);
  return { code: parsed.error.code, jsonRpc: parsed.error.jsonRpcCode, message: parsed.error.message, id: parsed.id };
}

describe('frame parser', () => {
  it('accepts requests, notifications, results and error responses as they are', () => {
    for (const m of [
      { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'x', extra: [1] } },
      { jsonrpc: '2.0', id: 'a', method: 'ping' },
      { jsonrpc: '2.0', method: 'notifications/initialized' },
      { jsonrpc: '2.0', id: 2.5, result: {} },
      { jsonrpc: '2.0', id: null, error: { code: -32700, message: 'bad' } },
    ]) {
      expect(parseMessage(JSON.stringify(m), 'line')).toEqual({ ok: true, message: m });
    }
  });

  it('tells text that is not JSON (-32700) from JSON that is not a JSON-RPC message (-32600)', () => {
    expect(refusal(parseMessage('{"jsonrpc": "2.0", "id": 1, "method": ', 'body'))).toEqual({
      code: 'PARSE_ERROR',
      jsonRpc: -32700,
      message: expect.stringMatching(/^Parse error: the body is not valid JSON \(.+\)$/),
      id: null,
    });
    expect(refusal(parseMessage('{"jsonrpc":"1.0","id":7,"method":"x"}', 'frame'))).toEqual({
      code: 'INVALID_REQUEST',
      jsonRpc: -32600,
      message: 'Invalid Request: "jsonrpc" must be "2.0" (got "1.0")',
      id: 7,
    });
    expect(refusal(parseMessage('{"jsonrpc":"2.0","id":"x"}', 'line')).message).toContain('needs "result" or "error"');
    expect(refusal(parseMessage('{"jsonrpc":"2.0","id":1,"method":""}', 'line')).message).toContain('"method" must be a non-empty string (got "")');
    expect(refusal(parseMessage('{"jsonrpc":"2.0","method":"m","params":[1]}', 'line')).message).toContain('"params" must be an object (got an array)');
    expect(refusal(parseMessage('{"jsonrpc":"2.0","id":{},"method":"m"}', 'line'))).toMatchObject({
      message: expect.stringContaining('(got an object)'),
      id: null,
    });
    expect(refusal(parseMessage('"just a string"', 'line')).message).toContain('must be a JSON object (got "just a string")');
  });

  it('refuses a numeric id JSON cannot write back (1e400 reads as Infinity) as an invalid request', () => {
    for (const id of ['1e400', '-1e400']) {
      const r = refusal(parseMessage(`{"jsonrpc":"2.0","id":${id},"method":"tools/list"}`, 'body'));
      expect(r).toEqual({ code: 'INVALID_REQUEST', jsonRpc: -32600, message: expect.stringContaining('"id" must be a finite number'), id: null });
    }
    expect(refusal(parseMessage('{"jsonrpc":"2.0","id":1e400,"result":{}}', 'event')).code).toBe('INVALID_REQUEST');
    expect(parseMessage('{"jsonrpc":"2.0","id":1e300,"method":"m"}', 'body').ok).toBe(true);
  });

  it('keeps error messages short however large the bad value', () => {
    const r = refusal(parseMessage(JSON.stringify({ jsonrpc: 'x'.repeat(1_000_000), id: 1, method: 'm' }), 'line'));
    expect(r.message.length).toBeLessThan(120);
    const notJson = refusal(parseMessage('x'.repeat(1_000_000), 'line'));
    expect(notJson.message.length).toBeLessThan(200);
  });

  it('takes batches only where asked, and checks each item on its own', () => {
    const batch = JSON.stringify([
      { jsonrpc: '2.0', id: 1, method: 'a' },
      { jsonrpc: '2.0', id: 2 },
      { jsonrpc: '2.0', method: 'n' },
    ]);
    expect(refusal(parseMessage(batch, 'frame'))).toMatchObject({
      code: 'INVALID_REQUEST',
      message: 'Invalid Request: the frame must carry one JSON-RPC message, not a batch',
    });
    const parsed = parseMessageOrBatch(batch, 'body');
    if (!parsed.ok || !('batch' in parsed)) throw new Error('expected a batch');
    expect(parsed.batch.map((i) => i.ok)).toEqual([true, false, true]);
    expect(refusal(parsed.batch[1])).toMatchObject({ message: 'Invalid Request: batch item 1: a response needs "result" or "error"', id: 2 });
    expect(refusal(parseMessageOrBatch('[]', 'body') as ParsedMessage)).toMatchObject({ code: 'INVALID_REQUEST', message: 'Invalid Request: empty batch' });
    expect(parseMessageOrBatch('{"jsonrpc":"2.0","method":"n"}', 'body')).toEqual({ ok: true, message: { jsonrpc: '2.0', method: 'n' } });
    expect(refusal(parseMessageOrBatch('[1,', 'body') as ParsedMessage).code).toBe('PARSE_ERROR');
  });
});
