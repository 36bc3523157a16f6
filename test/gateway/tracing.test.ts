/**
 * Trace context through the gateway: the client's traceparent is continued with the gateway's own
 * span, the server receives it in `_meta`, and the `call` log line ties them together; a call
 * without one starts a trace. `log.calls: false` drops the line and keeps the propagation.
 */
import { connectClient, newMarker, startTestGateway, type TestGateway } from '../helpers/gateway';
import { waitForNoProcesses } from '../helpers/processes';
import { scripted } from '../helpers/scripted';

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const CLIENT_SPAN = '00f067aa0ba902b7';
const marker = newMarker();
let gw: TestGateway | undefined;

afterEach(async () => {
  await gw?.stop();
  gw = undefined;
  expect(await waitForNoProcesses(marker)).toEqual([]);
});

type Received = { receivedParams: { _meta: { traceparent: string; custom?: string } } };
const callLines = () => gw!.logs.filter((l) => l.msg === 'call');

test('continues the client trace with a span of its own, which the server receives and the log line names', async () => {
  gw = await startTestGateway({ servers: { s: scripted(marker, ['--tools', 'echo']) } }, marker);
  const client = await connectClient(gw, 'streamable-http');
  try {
    const r = (await client.callTool({
      name: 's__echo',
      arguments: {},
      _meta: { traceparent: `00-${TRACE}-${CLIENT_SPAN}-01`, custom: 'kept' },
    })) as unknown as Received;
    const [, trace, span, flags] = r.receivedParams._meta.traceparent.split('-');
    expect([trace, flags]).toEqual([TRACE, '01']);
    expect(span).not.toBe(CLIENT_SPAN);
    expect(r.receivedParams._meta.custom).toBe('kept');
    expect(callLines()).toEqual([
      expect.objectContaining({
        trace: TRACE,
        span,
        parent: CLIENT_SPAN,
        server: 's',
        backend: 'primary',
        method: 'tools/call',
        outcome: 'ok',
        ms: expect.any(Number),
      }),
    ]);

    const fresh = (await client.callTool({ name: 's__echo', arguments: {} })) as unknown as Received;
    const started = fresh.receivedParams._meta.traceparent.split('-')[1];
    expect(started).toMatch(/^[0-9a-f]{32}$/);
    expect(started).not.toBe(TRACE);
    expect(callLines()[1]).toMatchObject({ trace: started });
    expect(callLines()[1].parent).toBeUndefined();
  } finally {
    await client.close();
  }
});

test('log.calls false: no call line, the trace still reaches the server', async () => {
  gw = await startTestGateway({ log: { calls: false }, servers: { s: scripted(marker, ['--tools', 'echo']) } }, marker);
  const client = await connectClient(gw, 'streamable-http');
  try {
    const r = (await client.callTool({ name: 's__echo', arguments: {}, _meta: { traceparent: `00-${TRACE}-${CLIENT_SPAN}-01` } })) as unknown as Received;
    expect(r.receivedParams._meta.traceparent).toMatch(new RegExp(`^00-${TRACE}-[0-9a-f]{16}-01$`));
    expect(callLines()).toEqual([]);
  } finally {
    await client.close();
  }
});
