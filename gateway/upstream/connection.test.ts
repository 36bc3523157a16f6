/**
 * One upstream session, against an SDK server in memory: whatever the server answers resolves,
 * its own errors included (whatever their code); only the gateway giving up rejects, with a
 * FleetError whose code says why (UPSTREAM_TIMEOUT, UPSTREAM_UNAVAILABLE, CANCELLED).
 */
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import { createLogger } from '../log';
import { FleetError } from '../protocol/errors';
import type { JsonRpcNotification, JsonRpcRequest } from '../protocol/jsonrpc';
import { fromSdkTransport } from '../protocol/sdk-transport';
import { deferred } from '../../test/helpers/memory-servers';
import { UpstreamConnection, type ServerRequestOutcome } from './connection';

const INIT = { protocolVersion: '2025-06-18', capabilities: { sampling: {} }, clientInfo: { name: 'gateway-test', version: '1' } };

/** A server whose `hang` tool answers only when cancelled (reporting why), and whose `refuse` prompt fails with the code asked for. */
function server() {
  const started = deferred();
  const cancelled = deferred<unknown>();
  const s = new McpServer({ name: 'upstream', version: '2.0.0' }, { instructions: 'be kind' });
  s.registerTool('hang', {}, async (extra) => {
    started.resolve();
    cancelled.resolve(await new Promise((resolve) => extra.signal.addEventListener('abort', () => resolve(extra.signal.reason))));
    return { content: [] };
  });
  s.registerPrompt('refuse', {}, async () => {
    throw new McpError(-32000, 'the server itself says: connection closed');
  });
  return { s, started: started.promise, cancelled: cancelled.promise };
}

/** An opened connection to a fresh server, with what it told its owner. */
async function open(events: { request?: (r: JsonRpcRequest) => Promise<ServerRequestOutcome> } = {}) {
  const upstream = server();
  const [gatewaySide, serverSide] = InMemoryTransport.createLinkedPair();
  await upstream.s.connect(serverSide);
  const notifications: JsonRpcNotification[] = [];
  const closed = deferred<Error | undefined>();
  const conn = new UpstreamConnection(
    's',
    fromSdkTransport(gatewaySide),
    {
      notification: (n) => void notifications.push(n),
      request: (r) => events.request?.(r) ?? Promise.resolve({ result: {} }),
      closed: (_conn, reason) => closed.resolve(reason),
    },
    createLogger('silent'),
  );
  await conn.open(INIT, { timeoutMs: 5_000, era: 'legacy', probeTimeoutMs: 1_000 });
  return { conn, upstream, notifications, closed: closed.promise };
}

/** What a rejected request was rejected with. */
async function failure(response: Promise<unknown>): Promise<FleetError> {
  const err = await response.then(
    () => new Error('expected a rejection, got an answer'),
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(FleetError);
  return err as FleetError;
}

describe('an upstream connection', () => {
  it('initializes, and keeps what the server said about itself', async () => {
    const { conn } = await open();
    expect(conn.init).toMatchObject({ protocolVersion: '2025-06-18', serverInfo: { name: 'upstream', version: '2.0.0' }, instructions: 'be kind' });
    expect(conn.capabilities.tools).toBeDefined();
    await conn.close();
  });

  it("resolves with the server's own errors, even one under the number the gateway uses for a lost server", async () => {
    const { conn } = await open();
    expect(await conn.request('no/such/method', {}, { timeoutMs: 5_000 }).response).toMatchObject({ error: { code: -32601, message: 'Method not found' } });
    expect(await conn.request('prompts/get', { name: 'refuse' }, { timeoutMs: 5_000 }).response).toEqual({
      jsonrpc: '2.0',
      id: expect.any(Number),
      error: { code: -32000, message: 'MCP error -32000: the server itself says: connection closed' },
    });
    expect(conn.isOpen).toBe(true);
    await conn.close();
  });

  it('rejects with UPSTREAM_TIMEOUT when the server does not answer in time, and cancels the request upstream', async () => {
    const { conn, upstream } = await open();
    const err = await failure(conn.request('tools/call', { name: 'hang', arguments: {} }, { timeoutMs: 50 }).response);
    expect(err).toMatchObject({ code: 'UPSTREAM_TIMEOUT', message: 'server "s" did not answer tools/call within 50 ms', data: { server: 's' } });
    expect(await upstream.cancelled).toBe('timed out in gateway');
    expect(conn.isOpen).toBe(true);
    await conn.close();
  });

  it('rejects with CANCELLED when the gateway cancels, and the server hears why', async () => {
    const { conn, upstream } = await open();
    const pending = conn.request('tools/call', { name: 'hang', arguments: {} }, { timeoutMs: 5_000, origin: { clientId: 'c1', clientRequestId: 9 } });
    await upstream.started;
    expect(conn.inFlightOrigins()).toEqual([{ clientId: 'c1', clientRequestId: 9 }]);
    conn.cancel(pending.id, 'the client gave up');
    expect(await failure(pending.response)).toMatchObject({ code: 'CANCELLED', message: 'request cancelled: the client gave up', data: { server: 's' } });
    expect(await upstream.cancelled).toBe('the client gave up');
    expect(conn.inFlightOrigins()).toEqual([]);
    await conn.close();
  });

  it('rejects what is in flight and what comes after with UPSTREAM_UNAVAILABLE when the server goes away', async () => {
    const { conn, upstream, closed } = await open();
    const pending = conn.request('tools/call', { name: 'hang', arguments: {} }, { timeoutMs: 5_000 });
    await upstream.started;
    await upstream.s.close();
    expect(await failure(pending.response)).toMatchObject({ code: 'UPSTREAM_UNAVAILABLE', message: 'server "s" disconnected' });
    expect((await closed)?.message).toBe('transport closed');
    expect(conn.isOpen).toBe(false);
    expect(await failure(conn.request('ping', undefined, { timeoutMs: 5_000 }).response)).toMatchObject({
      code: 'UPSTREAM_UNAVAILABLE',
      message: 'server "s" is not connected',
    });
  });

  it('tells its owner no reason when closed on purpose, and the reason when given up as broken', async () => {
    const first = await open();
    await first.conn.close();
    expect(await first.closed).toBeUndefined();
    const second = await open();
    const pending = second.conn.request('tools/call', { name: 'hang', arguments: {} }, { timeoutMs: 5_000 });
    await second.conn.lose(new Error('health check failed'));
    expect(await second.closed).toEqual(new Error('health check failed'));
    expect(await failure(pending.response)).toMatchObject({ code: 'UPSTREAM_UNAVAILABLE', message: 'server "s" disconnected: health check failed' });
  });

  it("carries the server's requests to its owner and the owner's answer, or failure, back", async () => {
    const { conn, upstream, notifications } = await open({
      request: async (r) => {
        if (r.method === 'sampling/createMessage') return { result: { model: 'm', role: 'assistant', content: { type: 'text', text: 'sampled' } } };
        throw new Error(`cannot ${r.method}`);
      },
    });
    expect(await upstream.s.server.createMessage({ messages: [], maxTokens: 1 })).toMatchObject({ content: { text: 'sampled' } });
    await expect(upstream.s.server.listRoots()).rejects.toMatchObject({ code: -32603, message: 'MCP error -32603: cannot roots/list' });
    upstream.s.sendToolListChanged();
    expect(notifications).toEqual([{ jsonrpc: '2.0', method: 'notifications/tools/list_changed' }]);
    await conn.close();
  });
});

describe('an upstream connection that cannot open', () => {
  it('rejects with UPSTREAM_UNAVAILABLE when the server refuses initialize, and closes', async () => {
    // No SDK server refuses initialize: a bare peer on the other end of the transport does.
    const [gatewaySide, peer] = InMemoryTransport.createLinkedPair();
    peer.onmessage = (m) => void peer.send({ jsonrpc: '2.0', id: (m as { id: number }).id, error: { code: -32602, message: 'unsupported protocol version' } });
    await peer.start();
    const closed = deferred<Error | undefined>();
    const conn = new UpstreamConnection(
      's',
      fromSdkTransport(gatewaySide),
      { notification: () => {}, request: async () => ({ result: {} }), closed: (_c, r) => closed.resolve(r) },
      createLogger('silent'),
    );
    const err = await failure(conn.open(INIT, { timeoutMs: 5_000, era: 'legacy', probeTimeoutMs: 1_000 }));
    expect(err).toMatchObject({ code: 'UPSTREAM_UNAVAILABLE', message: 'server "s" refused initialize: unsupported protocol version' });
    expect(conn.isOpen).toBe(false);
    expect(await closed.promise).toBeUndefined();
  });
});
