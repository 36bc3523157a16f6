/**
 * Resource subscriptions: resources/subscribe and unsubscribe reach the server, and
 * notifications/resources/updated reach exactly the clients subscribed to that URI. A shared
 * server hears one subscribe per URI however many clients subscribe, and an unsubscribe only when
 * the last subscriber leaves (by unsubscribing or by disconnecting).
 */
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { FRONTS } from '../helpers/gateway';
import { Inbox } from './support/inbox';
import { waitFor } from '../helpers/wait';
import { RelayFixture, tool, FRONT_PAIRS } from './support/fixture';
import { WireTap } from './support/wire-tap';

const uri = (n: number) => `demo://resource/dynamic/text/${n}`;
const TOGGLE = tool('toggle-subscriber-updates');

function upstream(tap: WireTap, gatewayPid: number, method: 'resources/subscribe' | 'resources/unsubscribe'): string[] {
  return tap
    .records(gatewayPid)
    .filter((r) => r.way === 'in' && r.message.method === method)
    .map((r) => r.message.params.uri);
}

const updates = (inbox: Inbox) => inbox.notifications('notifications/resources/updated');

describe.each(FRONTS)('subscriptions over %s', (front) => {
  describe.each(['shared', 'per-session'] as const)('with a %s server', (mode) => {
    const fixture = new RelayFixture();
    const tap = new WireTap();
    const inbox = new Inbox();
    let client: Client;

    beforeAll(async () => {
      await fixture.start({ mode, tap });
      client = await fixture.connect(front, { inbox });
    });

    afterAll(async () => {
      expect(await fixture.stop()).toEqual([]);
    });

    it('subscribes upstream and relays resources/updated for the URI', async () => {
      expect(await client.subscribeResource({ uri: uri(7) })).toEqual({});
      expect(upstream(tap, fixture.gatewayPid(client), 'resources/subscribe')).toEqual([uri(7)]);
      await client.callTool({ name: TOGGLE, arguments: {} }); // the server sends one update at once, then one every 5 s
      await waitFor(() => updates(inbox).length >= 1, 'resources/updated');
      expect(updates(inbox)[0]).toEqual({ uri: uri(7) });
    });

    it('unsubscribes upstream', async () => {
      expect(await client.unsubscribeResource({ uri: uri(7) })).toEqual({});
      expect(upstream(tap, fixture.gatewayPid(client), 'resources/unsubscribe')).toEqual([uri(7)]);
    });
  });
});

describe.each(FRONT_PAIRS)('two clients (%s and %s) subscribed on one shared server', (frontA, frontB) => {
  const fixture = new RelayFixture();
  const tap = new WireTap();
  const inboxA = new Inbox();
  const inboxB = new Inbox();
  let a: Client;
  let b: Client;
  // uri 9 is subscribed last by both: its update is the last of each round for each client, so
  // once it arrived, anything else of that round would have arrived too
  const LAST = uri(9);

  beforeAll(async () => {
    await fixture.start({ tap });
    a = await fixture.connect(frontA, { inbox: inboxA });
    b = await fixture.connect(frontB, { inbox: inboxB });
  });

  afterAll(async () => {
    expect(await fixture.stop()).toEqual([]);
  });

  const uris = (inbox: Inbox) => updates(inbox).map((p) => p.uri);
  const rounds = (inbox: Inbox) => uris(inbox).filter((u) => u === LAST).length;

  it('subscribes each URI upstream once, and sends each client only its own updates', async () => {
    await a.subscribeResource({ uri: uri(1) });
    await b.subscribeResource({ uri: uri(2) });
    await a.subscribeResource({ uri: uri(3) });
    await b.subscribeResource({ uri: uri(3) });
    await a.subscribeResource({ uri: LAST });
    await b.subscribeResource({ uri: LAST });
    expect(upstream(tap, process.pid, 'resources/subscribe')).toEqual([uri(1), uri(2), uri(3), LAST]);

    await a.callTool({ name: TOGGLE, arguments: {} });
    await waitFor(() => rounds(inboxA) === 1 && rounds(inboxB) === 1, 'the first round of updates');
    expect(uris(inboxA)).toEqual([uri(1), uri(3), LAST]);
    expect(uris(inboxB)).toEqual([uri(2), uri(3), LAST]);
  });

  it('stops one client’s updates when it unsubscribes, without unsubscribing upstream while the other still listens', async () => {
    await a.unsubscribeResource({ uri: uri(3) });
    expect(upstream(tap, process.pid, 'resources/unsubscribe')).toEqual([]);
    // the next round comes 5 s after the first
    await waitFor(() => rounds(inboxA) === 2 && rounds(inboxB) === 2, 'the second round of updates', 20_000);
    expect(uris(inboxA)).toEqual([uri(1), uri(3), LAST, uri(1), LAST]);
    expect(uris(inboxB)).toEqual([uri(2), uri(3), LAST, uri(2), uri(3), LAST]);

    await b.unsubscribeResource({ uri: uri(3) });
    expect(upstream(tap, process.pid, 'resources/unsubscribe')).toEqual([uri(3)]);
  });

  it('unsubscribes upstream what only a disconnecting client had subscribed', async () => {
    await fixture.disconnect(a);
    await waitFor(() => upstream(tap, process.pid, 'resources/unsubscribe').length === 2, 'the unsubscribe upstream');
    expect(upstream(tap, process.pid, 'resources/unsubscribe')).toEqual([uri(3), uri(1)]);
    // uri 9 stays subscribed for the other client
    await b.callTool({ name: tool('echo'), arguments: { message: 'barrier' } });
    expect(upstream(tap, process.pid, 'resources/unsubscribe')).toEqual([uri(3), uri(1)]);
  });
});
