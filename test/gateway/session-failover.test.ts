/**
 * Failover of a per-session binding: a client session bound to one backend of a per-session
 * server moves to another backend when its own stays down past `sessionFailoverMs` (the process
 * killed and unable to start again), with a new upstream session initialized for it, and hears
 * list_changed since the new backend's tools differ; its session with the gateway is the same
 * throughout. Real scripted servers.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { ToolListChangedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { admin, startAdminGateway } from '../helpers/admin';
import { connectClient, disconnect, newMarker, type TestGateway } from '../helpers/gateway';
import { processesWithMarker, waitForNoProcesses } from '../helpers/processes';
import { scripted } from '../helpers/scripted';
import { waitFor } from '../helpers/wait';

describe('a per-session binding whose backend stays down', () => {
  const markers = { a: newMarker(), b: newMarker() };
  const dir = mkdtempSync(join(tmpdir(), 'mcp-fleet-failover-'));
  const gate = (name: 'a' | 'b') => join(dir, `${name}-down`);
  // their tools differ, so a move is heard (gateway/servers/session-failover.test.ts: a move to the same tools is not)
  const backend = (name: 'a' | 'b') =>
    scripted(markers[name], ['--tools', name === 'a' ? 'echo' : 'echo,sleep', '--name', name, '--exit-if-exists', gate(name)]);
  let gw: TestGateway;
  let client: Client;

  beforeAll(async () => {
    gw = await startAdminGateway(markers.a, { s: { ...backend('a'), mode: 'per-session', sessionFailoverMs: 500 } });
    const { command, args, env } = backend('b');
    expect((await admin(gw, 'POST', '/admin/servers/s/backends', { body: { id: 'b', weight: 100, command, args, env } })).status).toBe(201);
  });

  afterAll(async () => {
    if (client) await disconnect(client);
    await gw?.stop();
    rmSync(dir, { recursive: true, force: true });
    expect(await waitForNoProcesses(markers.a)).toEqual([]);
    expect(await waitForNoProcesses(markers.b)).toEqual([]);
  });

  const answeredBy = async () => {
    const { content } = (await client.callTool({ name: 's__echo', arguments: {} })) as { content: { text: string }[] };
    return content[0].text.split(':')[0] as 'a' | 'b';
  };

  it('moves to another backend with a new upstream session, and tells the client its list changed when the tools differ', async () => {
    client = await connectClient(gw, 'streamable-http');
    let listChanged = 0;
    client.setNotificationHandler(ToolListChangedNotificationSchema, () => void listChanged++);
    const first = await answeredBy();
    const other = first === 'a' ? 'b' : 'a';
    expect(processesWithMarker(markers[first])).toHaveLength(1);

    // its backend dies and cannot come back
    writeFileSync(gate(first), 'down');
    for (const pid of processesWithMarker(markers[first])) process.kill(pid, 'SIGKILL');

    expect(
      await waitFor(async () => ((await answeredBy().catch(() => undefined)) === other ? other : undefined), 'the session to be served by the other backend'),
    ).toBe(other);
    await waitFor(() => listChanged > 0, 'list_changed after the move');
    expect(gw.logs.find((l) => l.msg === 'backend stayed down: its session moves to another backend')).toMatchObject({
      server: 's',
      from: first === 'a' ? 'primary' : 'b',
    });
    // the new upstream is the session's own, on the other backend; the dead one is not restarted
    expect(processesWithMarker(markers[other]).length).toBeGreaterThanOrEqual(1);
    expect(processesWithMarker(markers[first])).toEqual([]);
  });
});
