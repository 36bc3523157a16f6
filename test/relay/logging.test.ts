/**
 * Logging through the gateway: logging/setLevel reaches the server (for a shared server, the most
 * verbose level any client asked for), notifications/message reach the client, and each client of
 * a shared server gets only the messages at or above its own level.
 */
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { FRONTS } from '../helpers/gateway';
import { Inbox } from './support/inbox';
import { waitFor } from '../helpers/wait';
import { RelayFixture, tool, FRONT_PAIRS } from './support/fixture';
import { WireTap } from './support/wire-tap';

const uri = (n: number) => `demo://resource/dynamic/text/${n}`;
/** What server-everything logs (at info) when it gets a subscribe over stdio. */
const subscribeLog = (n: number) => ({ level: 'info', data: `Received Subscribe Resource request for URI: ${uri(n)} ` });

function levelsSetUpstream(tap: WireTap, gatewayPid: number): string[] {
  return tap
    .records(gatewayPid)
    .filter((r) => r.way === 'in' && r.message.method === 'logging/setLevel')
    .map((r) => r.message.params.level);
}

/** Waits until `inbox` got notifications/resources/updated for `n`: everything sent to it before has arrived too. */
function updated(inbox: Inbox, n: number) {
  return waitFor(() => inbox.notifications('notifications/resources/updated').some((p) => p.uri === uri(n)), `resources/updated for ${uri(n)}`);
}

describe.each(FRONTS)('logging over %s', (front) => {
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

    it('sets the level upstream and relays the server’s messages at or above it', async () => {
      await client.setLoggingLevel('info');
      expect(levelsSetUpstream(tap, fixture.gatewayPid(client))).toEqual(['info']);
      await client.subscribeResource({ uri: uri(1) });
      await waitFor(() => inbox.notifications('notifications/message').length >= 1, 'a log message');
      expect(inbox.notifications('notifications/message')).toEqual([subscribeLog(1)]);
    });

    it('relays nothing below the level once it was raised', async () => {
      await client.setLoggingLevel('warning');
      expect(levelsSetUpstream(tap, fixture.gatewayPid(client))).toEqual(['info', 'warning']);
      await client.subscribeResource({ uri: uri(2) });
      // resources/updated for uri 2 is sent after the subscribe's log message: once it is here, so would the log be
      await client.callTool({ name: tool('toggle-subscriber-updates'), arguments: {} });
      await updated(inbox, 2);
      expect(inbox.notifications('notifications/message')).toEqual([subscribeLog(1)]);
    });
  });
});

describe.each(FRONT_PAIRS)('log levels of two clients (%s and %s) on one shared server', (frontA, frontB) => {
  const fixture = new RelayFixture();
  const tap = new WireTap();
  const quiet = new Inbox();
  const chatty = new Inbox();
  let a: Client;
  let b: Client;

  beforeAll(async () => {
    await fixture.start({ tap });
    a = await fixture.connect(frontA, { inbox: quiet });
    b = await fixture.connect(frontB, { inbox: chatty });
  });

  afterAll(async () => {
    expect(await fixture.stop()).toEqual([]);
  });

  it('sets the most verbose level upstream and filters per client', async () => {
    await a.setLoggingLevel('warning');
    await b.setLoggingLevel('info');
    expect(levelsSetUpstream(tap, process.pid)).toEqual(['warning', 'info']);

    await a.subscribeResource({ uri: uri(1) });
    await b.subscribeResource({ uri: uri(2) });
    await b.callTool({ name: tool('toggle-subscriber-updates'), arguments: {} });
    await updated(quiet, 1);
    await updated(chatty, 2);
    // both subscribe logs (info) went to the client at info, none to the client at warning
    expect(chatty.notifications('notifications/message')).toEqual([subscribeLog(1), subscribeLog(2)]);
    expect(quiet.notifications('notifications/message')).toEqual([]);
  });

  it('lowers the upstream level again when the verbose client asks for less', async () => {
    await b.setLoggingLevel('error');
    expect(levelsSetUpstream(tap, process.pid)).toEqual(['warning', 'info', 'warning']);
  });
});
