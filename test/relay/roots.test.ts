/**
 * Roots are per-client state, so only per-session servers see them: the upstream is initialized
 * with the client's roots capability, its roots/list requests reach that client, the answer reaches
 * the server, and the client's roots/list_changed makes the server ask again. Shared servers are
 * never offered roots.
 */
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { ListRootsRequestSchema, type Root } from '@modelcontextprotocol/sdk/types.js';
import { FRONTS } from '../helpers/gateway';
import { Inbox } from './support/inbox';
import { waitFor } from '../helpers/wait';
import { RelayFixture, tool } from './support/fixture';
import { WireTap } from './support/wire-tap';

const ROOTS_TOOL = tool('get-roots-list');

function rootsText(roots: Root[]): string {
  const list = roots.map((r, i) => `${i + 1}. ${r.name}\n   URI: ${r.uri}`).join('\n\n');
  return `Current MCP Roots (${roots.length} total):\n\n${list}\n\n`;
}

describe.each(FRONTS)('roots over %s, per-session server', (front) => {
  const fixture = new RelayFixture();
  const tap = new WireTap();
  const inbox = new Inbox();
  let roots: Root[] = [{ uri: 'file:///work/project-a', name: `Project A via ${front}` }];
  let asked = 0;
  let client: Client;

  beforeAll(async () => {
    await fixture.start({ mode: 'per-session', tap });
    client = await fixture.connect(front, {
      inbox,
      capabilities: { roots: { listChanged: true } },
      setup: (c) =>
        c.setRequestHandler(ListRootsRequestSchema, async () => {
          asked++;
          return { roots };
        }),
    });
  });

  afterAll(async () => {
    expect(await fixture.stop()).toEqual([]);
  });

  it('initializes the upstream with the client’s roots capability', async () => {
    const init = tap.records(fixture.gatewayPid(client)).find((r) => r.way === 'in' && r.message.method === 'initialize')!;
    expect(init.message.params.capabilities).toEqual({ roots: { listChanged: true } });
    expect((await client.listTools()).tools.map((t) => t.name)).toContain(ROOTS_TOOL);
  });

  it('carries the server’s roots/list to the client and the roots back to the server', async () => {
    const result = await client.callTool({ name: ROOTS_TOOL, arguments: {} }, undefined, { timeout: 30_000 });
    expect((result.content as { text: string }[])[0].text.startsWith(rootsText(roots))).toBe(true);
    // at least once: server-everything also syncs roots on its own 350 ms after it was initialized
    expect(asked).toBeGreaterThanOrEqual(1);
    expect(inbox.requests('roots/list').length).toBeGreaterThanOrEqual(1);
    // the server received exactly the client's roots (the wire tap is written as it goes: wait for the answer's record)
    const answer = await waitFor(() => {
      const wire = tap.records(fixture.gatewayPid(client));
      const asks = wire.filter((r) => r.way === 'out' && r.message.method === 'roots/list').map((r) => r.message.id);
      return wire.find((r) => r.way === 'in' && r.message.method === undefined && asks.includes(r.message.id));
    }, 'the answer to a roots/list on the server wire');
    expect(answer.message.result).toEqual({ roots });
  });

  it('relays roots/list_changed to the server, which asks the client again and sees the new roots', async () => {
    const before = asked;
    roots = [
      { uri: 'file:///work/project-b', name: 'Project B' },
      { uri: 'file:///work/project-c', name: 'Project C' },
    ];
    await client.sendRootsListChanged();
    // the server logs once it stored the new list
    await waitFor(
      () => inbox.notifications('notifications/message').some((p) => p.data === 'Roots updated: 2 root(s) received from client'),
      'the server to take the new roots',
    );
    expect(asked).toBe(before + 1);
    expect(tap.records(fixture.gatewayPid(client)).some((r) => r.way === 'in' && r.message.method === 'notifications/roots/list_changed')).toBe(true);
    const result = await client.callTool({ name: ROOTS_TOOL, arguments: {} }, undefined, { timeout: 30_000 });
    expect((result.content as { text: string }[])[0].text.startsWith(rootsText(roots))).toBe(true);
  });
});

describe('roots and a shared server', () => {
  const fixture = new RelayFixture();
  const tap = new WireTap();
  let client: Client;

  beforeAll(async () => {
    await fixture.start({ tap });
    client = await fixture.connect('streamable-http', {
      capabilities: { roots: { listChanged: true } },
      setup: (c) => c.setRequestHandler(ListRootsRequestSchema, async () => ({ roots: [{ uri: 'file:///private', name: 'mine alone' }] })),
    });
  });

  afterAll(async () => {
    expect(await fixture.stop()).toEqual([]);
  });

  it('is not offered roots, so it has no roots tool and sends no roots/list_changed upstream', async () => {
    const init = tap.records(process.pid).find((r) => r.way === 'in' && r.message.method === 'initialize')!;
    expect(init.message.params.capabilities.roots).toBeUndefined();
    expect((await client.listTools()).tools.map((t) => t.name)).not.toContain(ROOTS_TOOL);
    await client.sendRootsListChanged();
    // a round trip to the same server after the notification: had it been relayed, it would be on the wire first
    await client.callTool({ name: tool('echo'), arguments: { message: 'barrier' } });
    expect(tap.records(process.pid).some((r) => r.message.method === 'notifications/roots/list_changed')).toBe(false);
  });
});
