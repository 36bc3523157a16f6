/**
 * Partial failure: a crashed, broken or garbage-writing upstream never breaks the session or the
 * gateway. In-flight calls get an error naming the server, its tools leave and come back (with
 * list_changed each time), and the other servers keep serving.
 */
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { ToolListChangedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { FRONTS, connectClient, gatewayLogs, newMarker, startTestGateway, waitForGatewayLog, type TestGateway } from '../helpers/gateway';
import { scripted, sleeping } from '../helpers/scripted';
import { processesWithMarker, waitForNoProcesses } from '../helpers/processes';
import { waitFor } from '../helpers/wait';

describe.each(FRONTS)('an upstream crash seen over %s', (front) => {
  let gw: TestGateway;
  let client: Client;
  const marker = newMarker();
  let listChanged = 0;

  beforeAll(async () => {
    // fragile restarts after 0.8-1.2 s (1 s with jitter): long enough that a call right after a crash surely finds it down
    const slowRestart = { restart: { initialDelayMs: 1000, maxDelayMs: 1000 } };
    gw = await startTestGateway({ servers: { fragile: scripted(marker, [], slowRestart), steady: scripted(marker, ['--tools', 'echo']) } }, marker);
    client = await connectClient(gw, front, { setup: (c) => c.setNotificationHandler(ToolListChangedNotificationSchema, () => void listChanged++) });
  });

  afterAll(async () => {
    await client?.close();
    await gw?.stop();
    expect(await waitForNoProcesses(marker)).toEqual([]);
  });

  it('fails in-flight calls with an error naming the server, drops and restores its tools, and keeps the session', async () => {
    const names = async () => (await client.listTools()).tools.map((t) => t.name);
    expect(await names()).toEqual(expect.arrayContaining(['fragile__sleep', 'steady__echo']));
    const before = listChanged;

    const from = gatewayLogs(gw, client).length;
    const slow = client.callTool({ name: 'fragile__sleep', arguments: { ms: 30_000 } });
    await waitForGatewayLog(gw, client, sleeping('fragile'), 'the slow call to run upstream', { from });
    const crash = client.callTool({ name: 'fragile__crash', arguments: {} });
    await expect(slow).rejects.toThrow(/server "fragile" (disconnected|connection closed)/);
    await expect(crash).rejects.toThrow(/server "fragile"/);

    // the other server is untouched, and the session still works
    expect(await client.callTool({ name: 'steady__echo', arguments: {} })).toMatchObject({ content: [{ text: 'scripted:echo' }] });

    // the tools leave (list_changed) and come back after the restart (list_changed again)
    await waitFor(async () => listChanged >= before + 2 && (await names()).includes('fragile__sleep'), 'fragile to come back');
    expect(await client.callTool({ name: 'fragile__echo', arguments: {} })).toMatchObject({ content: [{ text: 'scripted:echo' }] });
    await waitForGatewayLog(gw, client, (l) => l.server === 'fragile' && l.msg === 'server unavailable; will retry', 'the restart of fragile', { from });
  });

  it('refuses calls to a server that is down as unavailable, naming the server and the tool, until it is back', async () => {
    await expect(client.callTool({ name: 'fragile__crash', arguments: {} })).rejects.toThrow(/server "fragile"/);
    // the restart waits at least 800 ms, far longer than this round trip
    // not an unknown name: the server that offered it is reconnecting, and the client may retry
    await expect(client.callTool({ name: 'fragile__echo', arguments: {} })).rejects.toThrow(
      /server "fragile", which offers fragile__echo, is not connected now \(reconnecting\); retry shortly/,
    );
    await waitFor(async () => (await client.listTools()).tools.some((t) => t.name === 'fragile__echo'), 'fragile to restart');
    expect(await client.callTool({ name: 'fragile__echo', arguments: {} })).toMatchObject({ content: [{ text: 'scripted:echo' }] });
  });
});

describe('startup with broken servers', () => {
  it('serves the healthy servers while the broken ones retry with backoff', async () => {
    const marker = newMarker();
    const gw = await startTestGateway(
      {
        startup: { waitForServersMs: 5000 },
        servers: {
          cannot_start: scripted(marker, ['--exit-at-start']),
          no_such_binary: { command: '/nonexistent/mcp-server', restart: { initialDelayMs: 100, maxDelayMs: 400 } },
          ok: scripted(marker, ['--tools', 'echo']),
        },
      },
      marker,
    );
    try {
      const client = await connectClient(gw, 'streamable-http');
      const { tools } = await client.listTools();
      expect(tools.map((t) => t.name)).toEqual(['ok__echo']);
      await expect(client.callTool({ name: 'cannot_start__echo', arguments: {} })).rejects.toThrow(/Unknown tool: cannot_start__echo/);
      await waitFor(() => gw.logs.filter((l) => l.server === 'no_such_binary' && l.msg === 'server unavailable; will retry').length >= 3, 'retries');
      const retries = gw.logs.filter((l) => l.server === 'no_such_binary' && l.msg === 'server unavailable; will retry');
      expect(String(retries[0].err)).toContain('cannot start "/nonexistent/mcp-server"');
      // backoff grows: each retry waits at least as long as the one before (up to the cap, with jitter)
      const delays = retries.map((l) => l.retryInMs as number);
      expect(delays[1]).toBeGreaterThan(delays[0]);
      await client.close();
    } finally {
      await gw.stop();
    }
    expect(await waitForNoProcesses(marker)).toEqual([]);
  });

  it('ignores garbage an upstream writes to stdout, logs it, and answers the call', async () => {
    const marker = newMarker();
    const gw = await startTestGateway({ servers: { g: scripted(marker) } }, marker);
    try {
      const client = await connectClient(gw, 'websocket');
      expect(await client.callTool({ name: 'g__garbage', arguments: {} })).toMatchObject({ content: [{ text: 'after garbage' }] });
      expect(gw.logs.some((l) => l.server === 'g' && String(l.msg).includes('not a JSON-RPC message') && l.line === 'this is not json')).toBe(true);
      await client.close();
    } finally {
      await gw.stop();
    }
    expect(processesWithMarker(marker)).toEqual([]);
  });
});
