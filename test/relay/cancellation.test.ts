/**
 * Cancellation through the gateway: when a client cancels a long call, the upstream gets
 * notifications/cancelled for its own request id, the client gets no response and no more
 * progress for it, the gateway forgets the call, and the session goes on working.
 */
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { CallToolResultSchema } from '@modelcontextprotocol/sdk/types.js';
import { FRONTS, type FrontKind } from '../helpers/gateway';
import { Inbox } from './support/inbox';
import { waitFor } from '../helpers/wait';
import { RelayFixture, tool } from './support/fixture';
import { WireTap, type WireRecord } from './support/wire-tap';

const LONG_OP = tool('trigger-long-running-operation');
const NETWORK_FRONTS: FrontKind[] = ['streamable-http', 'sse', 'websocket'];

describe.each(FRONTS)('cancelling a call over %s', (front) => {
  const fixture = new RelayFixture();
  const tap = new WireTap();
  const inbox = new Inbox();
  const clientErrors: Error[] = [];
  let client: Client;

  beforeAll(async () => {
    await fixture.start({ tap });
    client = await fixture.connect(front, { inbox });
    client.onerror = (err) => void clientErrors.push(err);
  });

  afterAll(async () => {
    expect(await fixture.stop()).toEqual([]);
  });

  it('cancels it upstream, sends the client nothing more for it, and keeps the session working', async () => {
    const steps = 10;
    const controller = new AbortController();
    let started!: () => void;
    const firstProgress = new Promise<void>((resolve) => (started = resolve));
    const call = client.callTool({ name: LONG_OP, arguments: { duration: 2, steps } }, undefined, {
      signal: controller.signal,
      onprogress: () => started(),
      timeout: 30_000,
    });
    await firstProgress; // the call is running upstream
    controller.abort('the user changed their mind');
    await expect(call).rejects.toThrow('the user changed their mind');

    // The upstream hears the cancellation for its own id, with the client's reason.
    const wire = () => tap.records(fixture.gatewayPid(client));
    const upstreamCall = wire().find((r) => r.way === 'in' && r.message.method === 'tools/call' && r.message.params.name === 'trigger-long-running-operation')!;
    const upstreamId = upstreamCall.message.id;
    const upstreamToken = upstreamCall.message.params._meta.progressToken;
    const cancelled = await waitFor(
      () => wire().find((r) => r.way === 'in' && r.message.method === 'notifications/cancelled' && r.message.params.requestId === upstreamId),
      'notifications/cancelled upstream',
    );
    expect(cancelled.message.params).toEqual({ requestId: upstreamId, reason: 'the user changed their mind' });

    // server-everything's tool ignores the abort and keeps reporting; once it reports its last step
    // it would answer at once, and an answer would come before the echo answer below.
    const isLastProgress = (r: WireRecord) =>
      r.way === 'out' &&
      r.message.method === 'notifications/progress' &&
      r.message.params.progressToken === upstreamToken &&
      r.message.params.progress === steps;
    await waitFor(() => wire().some(isLastProgress), 'the cancelled operation to run to its end upstream');
    const echo = await client.callTool({ name: tool('echo'), arguments: { message: 'after cancel' } });
    expect(echo.content).toEqual([{ type: 'text', text: 'Echo: after cancel' }]);

    const records = wire();
    // The SDK server does not answer a cancelled request...
    expect(records.filter((r) => r.way === 'out' && r.message.id === upstreamId && r.message.method === undefined)).toEqual([]);
    // ...and the gateway sent the client no response, and no progress reported after it cancelled.
    const clientId = inbox.notifications('notifications/progress')[0].progressToken;
    expect(inbox.responsesTo(clientId)).toEqual([]);
    const cancelAt = records.indexOf(cancelled);
    const reportedBeforeCancel = records.slice(0, cancelAt).filter((r) => r.way === 'out' && r.message.params?.progressToken === upstreamToken).length;
    const relayed = inbox.notifications('notifications/progress').filter((p) => p.progressToken === clientId);
    expect(relayed.length).toBeGreaterThanOrEqual(1);
    expect(relayed.length).toBeLessThanOrEqual(reportedBeforeCancel);
    expect(relayed.map((p) => p.progress)).toEqual(relayed.map((_, i) => i + 1));
    expect(clientErrors).toEqual([]);
    if (front !== 'stdio') {
      expect(fixture.gw!.sessions.inFlightCount).toBe(0);
      expect(fixture.gw!.progress.size).toBe(0);
    }

    // The same session runs a full call afterwards.
    const again = await client.request(
      { method: 'tools/call', params: { name: LONG_OP, arguments: { duration: 0.2, steps: 2 }, _meta: { progressToken: 'after-cancel' } } },
      CallToolResultSchema,
      { timeout: 30_000 },
    );
    expect(again.content).toEqual([{ type: 'text', text: 'Long running operation completed. Duration: 0.2 seconds, Steps: 2.' }]);
    expect(
      inbox
        .notifications('notifications/progress')
        .filter((p) => p.progressToken === 'after-cancel')
        .map((p) => p.progress),
    ).toEqual([1, 2]);
  });
});

describe.each(NETWORK_FRONTS)('a client that disconnects mid-call over %s', (front) => {
  const fixture = new RelayFixture();
  const tap = new WireTap();
  let stayer: Client;

  beforeAll(async () => {
    await fixture.start({ tap });
    stayer = await fixture.connect(front);
  });

  afterAll(async () => {
    expect(await fixture.stop()).toEqual([]);
  });

  it('gets its call cancelled upstream while the other client on the shared server carries on', async () => {
    const leaver = await fixture.connect(front);
    let started!: () => void;
    const firstProgress = new Promise<void>((resolve) => (started = resolve));
    const call = leaver.callTool({ name: LONG_OP, arguments: { duration: 20, steps: 100 } }, undefined, { onprogress: () => started(), timeout: 60_000 });
    call.catch(() => {}); // it ends with the connection
    await firstProgress;
    await fixture.disconnect(leaver);

    const wire = () => tap.records(process.pid);
    const upstreamId = wire().find((r) => r.way === 'in' && r.message.method === 'tools/call' && r.message.params.arguments.steps === 100)!.message.id;
    const cancelled = await waitFor(
      () => wire().find((r) => r.way === 'in' && r.message.method === 'notifications/cancelled' && r.message.params.requestId === upstreamId),
      'notifications/cancelled upstream',
    );
    expect(cancelled.message.params).toEqual({ requestId: upstreamId, reason: 'client session closed' });
    await waitFor(() => fixture.gw!.sessions.count === 1, 'the gateway to drop the closed session');
    expect(fixture.gw!.sessions.inFlightCount).toBe(0);
    expect(fixture.gw!.progress.size).toBe(0);
    expect((await stayer.callTool({ name: tool('echo'), arguments: { message: 'still here' } })).content).toEqual([{ type: 'text', text: 'Echo: still here' }]);
  });
});
