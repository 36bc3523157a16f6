import { continueTrace, traceparent } from './trace-context';

const CLIENT = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

test('continues a valid client trace with a new span of its own', () => {
  const t = continueTrace({ traceparent: CLIENT });
  expect(t).toMatchObject({ traceId: '4bf92f3577b34da6a3ce929d0e0e4736', parentSpanId: '00f067aa0ba902b7', flags: '01' });
  expect(t.spanId).toMatch(/^[0-9a-f]{16}$/);
  expect(t.spanId).not.toBe('00f067aa0ba902b7');
  expect(traceparent(t)).toBe(`00-4bf92f3577b34da6a3ce929d0e0e4736-${t.spanId}-01`);
});

test.each([
  undefined,
  {},
  { traceparent: 42 },
  { traceparent: 'garbage' },
  { traceparent: '00-00000000000000000000000000000000-00f067aa0ba902b7-01' },
  { traceparent: CLIENT.toUpperCase() },
])('starts a new trace for %j', (meta) => {
  const t = continueTrace(meta);
  expect(t.traceId).toMatch(/^[0-9a-f]{32}$/);
  expect(t.traceId).not.toBe('4bf92f3577b34da6a3ce929d0e0e4736');
  expect(t.parentSpanId).toBeUndefined();
  expect(traceparent(t)).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
});
