/**
 * A client session's lifecycle, seen by a raw JSON-RPC client: nothing but initialize and ping
 * before the handshake, one initialize, one request per id in flight, no notification before the
 * answer to initialize, and an answer for every call still running when the session closes.
 */
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { ListToolsRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { memoryGateway, type MemoryGateway, type RawClient } from '../../test/helpers/memory-gateway';
import { deferred, whoamiServer } from '../../test/helpers/memory-servers';
import { waitFor } from '../../test/helpers/wait';

/** A shared server `s` whose `hold` tool answers when the test releases it (or reports its cancellation). */
function holdingServer() {
  let release = deferred();
  let started = deferred();
  const cancelled: unknown[] = [];
  const server = () => {
    const s = whoamiServer('s');
    s.registerTool('hold', {}, async (extra) => {
      extra.signal.addEventListener('abort', () => void cancelled.push(extra.signal.reason));
      started.resolve();
      await release.promise;
      return { content: [{ type: 'text', text: 'released' }] };
    });
    return s;
  };
  return {
    server,
    cancelled,
    /** Resolves when the next `hold` call reached the upstream. */
    nextStart: () => (started = deferred()).promise,
    release: () => {
      release.resolve();
      release = deferred();
    },
  };
}

const invalidRequest = (id: string | number, message: string) => ({
  jsonrpc: '2.0',
  id,
  error: { code: -32600, message, data: { fleetCode: 'INVALID_REQUEST' } },
});

describe('a client session', () => {
  let gw: MemoryGateway;
  const hold = holdingServer();

  beforeAll(async () => {
    gw = await memoryGateway({ s: {} }, { s: hold.server });
  });

  afterAll(() => gw.stop());

  const initialized = async (): Promise<RawClient> => {
    const raw = await gw.connectRaw();
    await raw.initialize();
    return raw;
  };

  it('answers only initialize and ping before the handshake', async () => {
    const raw = await gw.connectRaw();
    expect(await raw.request(1, 'tools/list')).toEqual(invalidRequest(1, 'send initialize before tools/list'));
    expect(await raw.request(2, 'tools/call', { name: 's__whoami', arguments: {} })).toEqual(invalidRequest(2, 'send initialize before tools/call'));
    expect(await raw.request(3, 'ping')).toEqual({ jsonrpc: '2.0', id: 3, result: {} });
    expect(gw.logs.filter((l) => l.msg === 'call' && l.session === raw.session.id)).toEqual([]);
    const answer = await raw.initialize();
    expect(answer).toMatchObject({ id: 'init', result: { protocolVersion: '2025-06-18', serverInfo: { name: 'mcp-fleet-gateway' } } });
    expect(await raw.request(4, 'tools/list')).toMatchObject({ result: { tools: [{ name: 's__whoami' }, { name: 's__echo' }, { name: 's__hold' }] } });
  });

  it('refuses an initialize without a protocol version and lets the client try again', async () => {
    const raw = await gw.connectRaw();
    expect(await raw.request(1, 'initialize', { capabilities: {} })).toMatchObject({
      error: { code: -32602, message: 'initialize needs params.protocolVersion (a string)' },
    });
    expect(await raw.request(2, 'tools/list')).toEqual(invalidRequest(2, 'send initialize before tools/list'));
    expect(await raw.initialize()).toMatchObject({ result: { protocolVersion: '2025-06-18' } });
  });

  it('refuses a second initialize and keeps serving', async () => {
    const raw = await initialized();
    expect(await raw.request(9, 'initialize', { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'again', version: '1' } })).toEqual(
      invalidRequest(9, 'Invalid Request: this session is already initialized'),
    );
    expect(await raw.request(10, 'tools/call', { name: 's__echo', arguments: { message: 'still' } })).toMatchObject({
      result: { content: [{ text: 'still' }] },
    });
  });

  it('refuses a request under an id still in flight, answers the first, and takes the id again once it is free', async () => {
    const raw = await initialized();
    const started = hold.nextStart();
    await raw.send({ id: 7, method: 'tools/call', params: { name: 's__hold', arguments: {} } });
    await started;
    expect(await raw.request(7, 'ping')).toEqual(invalidRequest(7, 'Invalid Request: id 7 belongs to a request still in flight in this session; use a new id'));
    hold.release();
    await waitFor(() => raw.responsesTo(7).length === 2, 'the answer to the first request 7', 5_000, 5);
    expect(raw.responsesTo(7)[1]).toEqual({ jsonrpc: '2.0', id: 7, result: { content: [{ type: 'text', text: 'released' }] } });
    expect(await raw.request(7, 'ping')).toEqual({ jsonrpc: '2.0', id: 7, result: {} });
  });

  it('answers the calls in flight with SHUTTING_DOWN when the session closes, and cancels them upstream', async () => {
    const raw = await initialized();
    const started = hold.nextStart();
    await raw.send({ id: 'long', method: 'tools/call', params: { name: 's__hold', arguments: {} } });
    await started;
    await raw.session.close();
    expect(raw.responsesTo('long')).toEqual([
      {
        jsonrpc: '2.0',
        id: 'long',
        error: { code: -32000, message: 'the gateway closed this session before the call finished', data: { fleetCode: 'SHUTTING_DOWN' } },
      },
    ]);
    await waitFor(() => hold.cancelled.includes('client session closed'), 'the cancellation upstream', 5_000, 5);
    hold.release();
  });

  it('refuses new requests once the gateway drains', async () => {
    const raw = await initialized();
    gw.core.sessions.drain();
    expect(await raw.request(1, 'ping')).toMatchObject({ error: { code: -32000, data: { fleetCode: 'SHUTTING_DOWN' } } });
  });
});

describe('notifications around the handshake', () => {
  const LOGGING = { capabilities: { logging: {} } };

  it('reach a client only after the answer to its initialize, from its own servers and shared ones', async () => {
    let shared: McpServer | undefined;
    const gw = await memoryGateway(
      { s: {}, p: { mode: 'per-session' } },
      {
        s: () => (shared = whoamiServer('s', 's', LOGGING)),
        p: () => {
          // This runs while the client's initialize is being answered: both servers speak up then.
          void shared!.server.sendLoggingMessage({ level: 'error', data: 'from the shared server' });
          const own = whoamiServer('p', 'p', LOGGING);
          own.server.oninitialized = () => void own.server.sendLoggingMessage({ level: 'error', data: 'from the own server' });
          return own;
        },
      },
    );
    try {
      const raw = await gw.connectRaw();
      await raw.initialize();
      expect(raw.received[0]).toMatchObject({ id: 'init', result: { protocolVersion: '2025-06-18' } });
      // Traffic after the answer does reach it.
      void shared!.server.sendLoggingMessage({ level: 'error', data: 'later' });
      await waitFor(() => raw.notifications('notifications/message').length > 0, 'the later log message', 5_000, 5);
      expect(raw.notifications('notifications/message')).toEqual([{ level: 'error', data: 'later' }]);
    } finally {
      await gw.stop();
    }
  });
});

describe('a handshake that takes a while', () => {
  it('answers a ping meanwhile and refuses the rest, a second initialize too, and sends no notification until initialize is answered', async () => {
    const listing = deferred();
    const release = deferred();
    let shared!: McpServer;
    const gw = await memoryGateway(
      { s: {}, p: { mode: 'per-session' } },
      {
        s: () => (shared = whoamiServer('s', 's', { capabilities: { logging: {} } })),
        p: () => {
          // The client's own server holds its catalog back, and with it the answer to initialize.
          const own = whoamiServer('p');
          own.server.setRequestHandler(ListToolsRequestSchema, async () => (listing.resolve(), await release.promise, { tools: [] }));
          return own;
        },
      },
    );
    try {
      const raw = await gw.connectRaw();
      await raw.send({
        id: 'init',
        method: 'initialize',
        params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw-test', version: '1' } },
      });
      await listing.promise;
      expect(await raw.request('ping', 'ping')).toEqual({ jsonrpc: '2.0', id: 'ping', result: {} });
      expect(await raw.request('early', 'tools/list')).toEqual(invalidRequest('early', 'send initialize before tools/list'));
      const again = { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw-test', version: '1' } };
      expect(await raw.request('again', 'initialize', again)).toEqual(invalidRequest('again', 'Invalid Request: this session is already initialized'));
      expect(await raw.request('early2', 'tools/list')).toEqual(invalidRequest('early2', 'send initialize before tools/list'));
      await shared.server.sendLoggingMessage({ level: 'error', data: 'too early' });
      release.resolve();
      await waitFor(() => raw.responsesTo('init').length, 'the answer to initialize', 5_000, 5);
      expect(raw.received.map((m) => ('id' in m ? m.id : (m as { method: string }).method))).toEqual(['ping', 'early', 'again', 'early2', 'init']);
      expect(await raw.request('late', 'tools/list')).toMatchObject({ result: { tools: [{ name: 's__whoami' }, { name: 's__echo' }] } });
    } finally {
      await gw.stop();
    }
  });
});

describe("a session's own servers", () => {
  it('stop when the session closes, and only its own', async () => {
    const closed: string[] = [];
    let n = 0;
    const gw = await memoryGateway(
      { p: { mode: 'per-session' } },
      {
        p: () => {
          const label = `p#${++n}`;
          const server = whoamiServer(label, 'p');
          server.server.onclose = () => void closed.push(label);
          return server;
        },
      },
    );
    try {
      const [first, second] = [await gw.connectRaw(), await gw.connectRaw()];
      await first.initialize();
      await second.initialize();
      await first.session.close();
      expect(closed).toEqual(['p#1']);
      expect(gw.core.registry.ownersOf('p')).toEqual([{ session: second.session.id }]);
      expect(await second.request(1, 'tools/call', { name: 'p__whoami', arguments: {} })).toMatchObject({ result: { content: [{ text: 'p#2' }] } });
    } finally {
      await gw.stop();
    }
  });
});
