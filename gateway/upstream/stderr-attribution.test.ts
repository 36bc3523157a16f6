import { REQUEST_ID_META } from '../protocol/request-id';
import { CallsInFlight } from './stderr-attribution';

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const call = (id: number, requestId?: string) => ({
  jsonrpc: '2.0' as const,
  id,
  method: 'tools/call',
  params: { name: 'x', _meta: { traceparent: `00-${TRACE}-00f067aa0ba902b7-01`, ...(requestId ? { [REQUEST_ID_META]: requestId } : {}) } },
});

test('one call in flight: its trace and request id; several: how many; none: nothing', () => {
  const calls = new CallsInFlight();
  expect(calls.fields()).toEqual({});
  calls.sent(call(1, 'req-1'));
  expect(calls.fields()).toEqual({ trace: TRACE, requestId: 'req-1' });
  calls.sent(call(2));
  expect(calls.fields()).toEqual({ callsInFlight: 2 });
  calls.received({ jsonrpc: '2.0', id: 1, result: {} });
  expect(calls.fields()).toEqual({ trace: TRACE });
  calls.sent({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 2 } });
  expect(calls.fields()).toEqual({});
});

test("the gateway's own requests (no trace, no request id) are no client's call", () => {
  const calls = new CallsInFlight();
  calls.sent({ jsonrpc: '2.0', id: 9, method: 'ping' });
  calls.sent({ jsonrpc: '2.0', id: 10, method: 'tools/list', params: {} });
  expect(calls.fields()).toEqual({});
});
