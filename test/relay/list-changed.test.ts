/**
 * List changes reach every connected client: a server's own resources/list_changed (server-everything
 * registers a resource when its gzip tool runs) is relayed to all clients of a shared server after
 * the gateway refetched the list, and tools/list_changed goes out when a server restarts.
 */
import { readFileSync } from 'node:fs';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { FRONTS } from '../helpers/gateway';
import { processesWithMarker } from '../helpers/processes';
import { EVERYTHING_BIN } from '../helpers/servers';
import { Inbox } from './support/inbox';
import { waitFor } from '../helpers/wait';
import { RelayFixture, tool, FRONT_PAIRS } from './support/fixture';

const GZIP = tool('gzip-file-as-resource');
const RESOURCES_CHANGED = 'notifications/resources/list_changed';
const dataUri = (text: string) => `data:text/plain;base64,${Buffer.from(text).toString('base64')}`;
const sessionResource = (name: string) => `demo://resource/session/${name}`;

async function listsResource(client: Client, uri: string): Promise<boolean> {
  return (await client.listResources()).resources.some((r) => r.uri === uri);
}

/**
 * Waits until resources/list_changed reached the client, then expects its resources/list to have
 * `uri` at once: the gateway relays the notification only after it refetched the list.
 */
async function seesNewResource(inbox: Inbox, client: Client, uri: string, who = 'the client'): Promise<void> {
  await waitFor(() => inbox.notifications(RESOURCES_CHANGED).length > 0, `resources/list_changed at ${who}`);
  expect(await listsResource(client, uri)).toBe(true);
}

describe.each(FRONTS)('resources/list_changed over %s', (front) => {
  const fixture = new RelayFixture();
  const inbox = new Inbox();
  let client: Client;

  beforeAll(async () => {
    await fixture.start();
    client = await fixture.connect(front, { inbox });
  });

  afterAll(async () => {
    expect(await fixture.stop()).toEqual([]);
  });

  it('relays the server’s notification once the new resource is listed', async () => {
    const name = `relay-${front}.txt.gz`;
    expect(await listsResource(client, sessionResource(name))).toBe(false);
    expect(inbox.notifications(RESOURCES_CHANGED)).toEqual([]);
    const result = await client.callTool({ name: GZIP, arguments: { name, data: dataUri(`hello from ${front}`) } });
    expect(result.content).toEqual([{ type: 'resource_link', uri: sessionResource(name), name, mimeType: 'application/gzip' }]);
    await seesNewResource(inbox, client, sessionResource(name));
  });
});

describe.each(FRONT_PAIRS)('resources/list_changed with two clients (%s and %s) on one shared server', (frontA, frontB) => {
  const fixture = new RelayFixture();
  const inboxA = new Inbox();
  const inboxB = new Inbox();
  let a: Client;
  let b: Client;

  beforeAll(async () => {
    await fixture.start();
    a = await fixture.connect(frontA, { inbox: inboxA });
    b = await fixture.connect(frontB, { inbox: inboxB });
  });

  afterAll(async () => {
    expect(await fixture.stop()).toEqual([]);
  });

  it('reaches the client that did not cause the change too', async () => {
    const name = `shared-${frontA}.txt.gz`;
    const uri = sessionResource(name);
    for (const [client, inbox] of [
      [a, inboxA],
      [b, inboxB],
    ] as const) {
      expect(await listsResource(client, uri)).toBe(false);
      expect(inbox.notifications(RESOURCES_CHANGED)).toEqual([]);
    }
    const result = await a.callTool({ name: GZIP, arguments: { name, data: dataUri('shared') } });
    expect(result.content).toEqual([{ type: 'resource_link', uri, name, mimeType: 'application/gzip' }]);
    await seesNewResource(inboxB, b, uri, 'the other client');
    await seesNewResource(inboxA, a, uri, 'the calling client');
  });
});

/** The pid of the server-everything process that the gateway process `gatewayPid` runs. */
function serverPid(marker: string, gatewayPid: number): number | undefined {
  return processesWithMarker(marker).find((pid) => {
    try {
      const ppid = Number(
        readFileSync(`/proc/${pid}/stat`, 'utf8')
          .replace(/^.*\) /s, '')
          .split(' ')[1],
      );
      return ppid === gatewayPid && readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(EVERYTHING_BIN);
    } catch {
      return false;
    }
  });
}

describe.each(FRONTS)('tools/list_changed over %s when a shared server restarts', (front) => {
  const fixture = new RelayFixture();
  const inbox = new Inbox();
  let client: Client;

  beforeAll(async () => {
    // a slow restart (1.2-1.8 s with jitter), so the test can see the tools gone before they return
    await fixture.start({ server: { restart: { initialDelayMs: 1500, maxDelayMs: 1500 } } });
    client = await fixture.connect(front, { inbox });
  });

  afterAll(async () => {
    expect(await fixture.stop()).toEqual([]);
  });

  it('tells the client its tools went away and came back, and serves them again', async () => {
    const names = async () => (await client.listTools()).tools.map((t) => t.name).sort();
    const listChangedSince = (index: number) => inbox.messages.slice(index).filter((m) => m.method === 'notifications/tools/list_changed').length;
    const before = await names();
    expect(before).toContain(tool('trigger-sampling-request')); // registered only for clients that can sample
    const pid = serverPid(fixture.marker, fixture.gatewayPid(client));
    expect(pid).toBeDefined();

    const killedAt = inbox.messages.length;
    process.kill(pid!, 'SIGKILL');
    await waitFor(async () => (await names()).length === 0, 'the tools to go away');
    const goneAt = inbox.messages.length;
    await waitFor(async () => (await names()).length === before.length, 'the tools to come back');
    expect(await names()).toEqual(before);
    // one list_changed for the loss, one for the return (which can only come after the tools were gone)
    await waitFor(() => listChangedSince(killedAt) >= 2 && listChangedSince(goneAt) >= 1, 'tools/list_changed for the loss and the return');
    expect(serverPid(fixture.marker, fixture.gatewayPid(client))).not.toBe(pid);
    expect((await client.callTool({ name: tool('echo'), arguments: { message: 'back' } })).content).toEqual([{ type: 'text', text: 'Echo: back' }]);
  });
});
