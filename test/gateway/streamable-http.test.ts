/**
 * The Streamable HTTP front as the 2025-11-25 spec describes it: sessions, the GET stream,
 * DELETE, resumability with Last-Event-ID, MCP-Protocol-Version checks, and closing sessions whose
 * clients vanished without DELETE.
 */
import { newMarker, startTestGateway, type TestGateway } from '../helpers/gateway';
import { openEventStream, postRaw, rawSession } from '../helpers/raw-http';
import { scripted } from '../helpers/scripted';
import { waitForNoProcesses } from '../helpers/processes';
import { waitFor } from '../helpers/wait';
import { shortId } from '../../gateway/http/http-util';

describe('Streamable HTTP front', () => {
  let gw: TestGateway;
  let mcp: string;
  const marker = newMarker();

  beforeAll(async () => {
    gw = await startTestGateway({ http: { sessionIdleTimeoutMs: 1500 }, servers: { s: scripted(marker) } }, marker);
    mcp = `${gw.url}/mcp`;
  });

  afterAll(async () => {
    await gw?.stop();
    expect(await waitForNoProcesses(marker)).toEqual([]);
  });

  it('delivers list_changed on the GET stream and replays missed events after Last-Event-ID', async () => {
    const session = await rawSession(mcp);
    const stream = await openEventStream(mcp, session.headers);
    expect(stream.status).toBe(200);
    await session.call('tools/call', { name: 's__add_tool', arguments: { name: 'first' } });
    await waitFor(() => stream.events.some((e) => e.data.method === 'notifications/tools/list_changed'), 'list_changed on the GET stream');
    const lastSeen = stream.events.filter((e) => e.id).at(-1)!.id!;
    await stream.close();

    // while no stream is open, the list changes again; the reconnecting client gets what it missed
    await session.call('tools/call', { name: 's__add_tool', arguments: { name: 'second' } });
    // The gateway notifies in the same step as it swaps in the refetched list: once tools/list
    // shows the new tool, the notification is in the session's event store, so only a replay can deliver it.
    await waitFor(async () => (await session.call('tools/list')).result.tools.some((t: any) => t.name === 's__second'), 'the gateway to refetch the list');
    const resumed = await openEventStream(mcp, { ...session.headers, 'last-event-id': lastSeen });
    await waitFor(() => resumed.events.some((e) => e.data.method === 'notifications/tools/list_changed'), 'replayed list_changed');
    expect(resumed.events.every((e) => e.id !== lastSeen)).toBe(true);
    await resumed.close();
    const names = (await session.call('tools/list')).result.tools.map((t: any) => t.name);
    expect(names).toEqual(expect.arrayContaining(['s__first', 's__second']));
    await session.close();
  });

  it('ends a session on DELETE; the session id is then unknown (404)', async () => {
    const session = await rawSession(mcp);
    const del = await session.close();
    expect(del.status).toBe(200);
    const after = await postRaw(mcp, JSON.stringify({ jsonrpc: '2.0', id: 9, method: 'tools/list' }), session.headers);
    expect(after.status).toBe(404);
  });

  it('refuses an unsupported MCP-Protocol-Version header with 400', async () => {
    const session = await rawSession(mcp);
    const r = await postRaw(mcp, JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }), { ...session.headers, 'mcp-protocol-version': '1999-01-01' });
    expect(r.status).toBe(400);
    expect(JSON.stringify(r.messages)).toContain('Unsupported protocol version');
    await session.close();
  });

  it('negotiates the protocol version: a supported one is kept, an unknown one gets the latest', async () => {
    const init = (v: string) =>
      postRaw(
        mcp,
        JSON.stringify({
          jsonrpc: '2.0',
          id: 1,
          method: 'initialize',
          params: { protocolVersion: v, capabilities: {}, clientInfo: { name: 'v', version: '1' } },
        }),
      );
    const old = await init('2025-03-26');
    expect(old.messages[0].result.protocolVersion).toBe('2025-03-26');
    const future = await init('2099-01-01');
    expect(future.messages[0].result.protocolVersion).toBe('2025-11-25');
    for (const r of [old, future])
      await fetch(mcp, {
        method: 'DELETE',
        headers: { 'mcp-session-id': r.headers.get('mcp-session-id')!, 'mcp-protocol-version': r.messages[0].result.protocolVersion },
      });
  });

  it('closes a session whose client vanished without DELETE, but not one with an open stream', async () => {
    const vanished = await rawSession(mcp);
    const listening = await rawSession(mcp);
    const stream = await openEventStream(mcp, listening.headers);
    await waitFor(
      () => gw.logs.some((l) => l.msg === 'closing idle Streamable HTTP session' && l.httpSession === shortId(vanished.sessionId)),
      'the idle session to close',
      8000,
    );
    const gone = await postRaw(mcp, JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' }), vanished.headers);
    expect(gone.status).toBe(404);
    expect((await listening.call('ping')).result).toEqual({});
    await stream.close();
    await listening.close();
  });
});
