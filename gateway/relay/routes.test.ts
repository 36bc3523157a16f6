/**
 * The route table: every method it names is served, locally or forwarded to the server that owns
 * what the request names; anything else, the names every object inherits included, is an unknown method.
 */
import { completable } from '@modelcontextprotocol/sdk/server/completable.js';
import { McpServer, ResourceTemplate } from '@modelcontextprotocol/sdk/server/mcp.js';
import { SubscribeRequestSchema, UnsubscribeRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { FleetError } from '../protocol/errors';
import { memoryGateway } from '../../test/helpers/memory-gateway';
import { logLines } from '../../test/helpers/memory-servers';
import { routeOf } from './routes';

const ROWS: [string, 'initialize' | 'local' | 'forward' | 'subscription' | 'task' | 'task-list'][] = [
  ['initialize', 'initialize'],
  ['ping', 'local'],
  ['tools/list', 'local'],
  ['prompts/list', 'local'],
  ['resources/list', 'local'],
  ['resources/templates/list', 'local'],
  ['logging/setLevel', 'local'],
  ['tools/call', 'forward'],
  ['prompts/get', 'forward'],
  ['resources/read', 'forward'],
  ['completion/complete', 'forward'],
  ['resources/subscribe', 'subscription'],
  ['resources/unsubscribe', 'subscription'],
  ['tasks/get', 'task'],
  ['tasks/result', 'task'],
  ['tasks/cancel', 'task'],
  ['tasks/list', 'task-list'],
];

/** The rows of the 2026-07-28 table: no handshake, ping, log levels or subscribe; discover and listen instead; the tasks extension's methods. */
const MODERN_ROWS: [string, 'local' | 'forward' | 'listen' | 'task'][] = [
  ['server/discover', 'local'],
  ['tools/list', 'local'],
  ['prompts/list', 'local'],
  ['resources/list', 'local'],
  ['resources/templates/list', 'local'],
  ['tools/call', 'forward'],
  ['prompts/get', 'forward'],
  ['resources/read', 'forward'],
  ['completion/complete', 'forward'],
  ['subscriptions/listen', 'listen'],
  ['tasks/get', 'task'],
  ['tasks/update', 'task'],
  ['tasks/cancel', 'task'],
];

/** A server with one of everything a client can ask for. */
function everything(): McpServer {
  const server = new McpServer({ name: 'a', version: '1' }, { capabilities: { resources: { subscribe: true }, logging: {} } });
  server.registerTool('echo', { inputSchema: { message: z.string() } }, async ({ message }) => ({ content: [{ type: 'text', text: message }] }));
  server.registerPrompt('greet', { argsSchema: { who: completable(z.string(), (v) => [`${v}!`]) } }, async ({ who }) => ({
    messages: [{ role: 'user', content: { type: 'text', text: `hi ${who}` } }],
  }));
  server.registerResource('doc', 'mem://a/doc', {}, async (uri) => ({ contents: [{ uri: uri.href, text: 'doc' }] }));
  server.registerResource('item', new ResourceTemplate('mem://a/items/{id}', { list: undefined }), {}, async (uri) => ({
    contents: [{ uri: uri.href, text: 'item' }],
  }));
  server.server.setRequestHandler(SubscribeRequestSchema, async () => ({}));
  server.server.setRequestHandler(UnsubscribeRequestSchema, async () => ({}));
  return server;
}

describe('the route table', () => {
  it.each(['constructor', '__proto__', 'toString', 'hasOwnProperty', 'valueOf', 'tasks/update', 'sampling/createMessage'])('knows no method %s', (method) => {
    let thrown: unknown;
    try {
      routeOf(method, 'legacy');
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(FleetError);
    expect(thrown).toMatchObject({ code: 'METHOD_NOT_FOUND', message: `Method not found: ${method}`, data: { method } });
  });

  it.each(ROWS)('routes %s as %s', (method, kind) => {
    expect(routeOf(method, 'legacy').kind).toBe(kind);
  });

  it.each(MODERN_ROWS)('routes %s as %s for a 2026-07-28 client', (method, kind) => {
    expect(routeOf(method, 'modern').kind).toBe(kind);
  });

  it.each(['initialize', 'ping', 'logging/setLevel', 'resources/subscribe', 'resources/unsubscribe', 'tasks/result', 'tasks/list', 'constructor'])(
    'knows no %s for a 2026-07-28 client',
    (method) => {
      expect(() => routeOf(method, 'modern')).toThrow(expect.objectContaining({ code: 'METHOD_NOT_FOUND' }));
    },
  );

  it.each(['server/discover', 'subscriptions/listen'])('knows no %s for a 2025 session', (method) => {
    expect(() => routeOf(method, 'legacy')).toThrow(expect.objectContaining({ code: 'METHOD_NOT_FOUND' }));
  });

  it('serves every row through the gateway: the local ones without the upstream, the others forwarded', async () => {
    const gw = await memoryGateway({ a: {} }, { a: everything });
    try {
      const client = await gw.connect();
      await client.ping();
      expect((await client.listTools()).tools.map((t) => t.name)).toEqual(['a__echo']);
      expect((await client.listPrompts()).prompts.map((p) => p.name)).toEqual(['a__greet']);
      expect((await client.listResources()).resources.map((r) => r.uri)).toEqual(['mem://a/doc']);
      expect((await client.listResourceTemplates()).resourceTemplates.map((t) => t.uriTemplate)).toEqual(['mem://a/items/{id}']);
      await client.setLoggingLevel('info');
      expect(gw.logs.filter((l) => l.msg === 'call')).toEqual([]);
      await client.callTool({ name: 'a__echo', arguments: { message: 'm' } });
      await client.getPrompt({ name: 'a__greet', arguments: { who: 'w' } });
      await client.readResource({ uri: 'mem://a/items/3' });
      expect((await client.complete({ ref: { type: 'ref/prompt', name: 'a__greet' }, argument: { name: 'who', value: 'w' } })).completion.values).toEqual([
        'w!',
      ]);
      await client.subscribeResource({ uri: 'mem://a/doc' });
      await client.unsubscribeResource({ uri: 'mem://a/doc' });
      const forwarded = await logLines(gw, 'call', 6);
      expect(forwarded.map((l) => [l.method, l.outcome])).toEqual(
        ROWS.filter(([, kind]) => kind === 'forward' || kind === 'subscription').map(([method]) => [method, 'ok']),
      );
    } finally {
      await gw.stop();
    }
  });

  it('answers a prototype name sent as a method, before and after initialize, as an unknown method', async () => {
    const gw = await memoryGateway({ a: {} }, { a: everything });
    try {
      const raw = await gw.connectRaw();
      const unknown = (id: number, method: string) => ({
        jsonrpc: '2.0',
        id,
        error: { code: -32601, message: `Method not found: ${method}`, data: { method, fleetCode: 'METHOD_NOT_FOUND' } },
      });
      expect(await raw.request(1, '__proto__')).toEqual(unknown(1, '__proto__'));
      await raw.initialize();
      expect(await raw.request(2, 'constructor', {})).toEqual(unknown(2, 'constructor'));
      expect(await raw.request(3, 'ping')).toEqual({ jsonrpc: '2.0', id: 3, result: {} });
    } finally {
      await gw.stop();
    }
  });
});
