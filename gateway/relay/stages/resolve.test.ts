/**
 * The routing stage: a call names a tool, prompt or resource in the client's merged view, and goes
 * to the server that owns it under the server's own name; an unknown name is the client's error.
 */
import { completable } from '@modelcontextprotocol/sdk/server/completable.js';
import { McpServer, ResourceTemplate } from '@modelcontextprotocol/sdk/server/mcp.js';
import { z } from 'zod';
import { memoryGateway, type MemoryGateway } from '../../../test/helpers/memory-gateway';
import { callText, countingFactory, rejection, whoamiServer } from '../../../test/helpers/memory-servers';
import { waitFor } from '../../../test/helpers/wait';

/** Server `a`: a tool, a prompt with a completable argument, a listed resource. */
function serverA(): McpServer {
  const server = whoamiServer('a');
  server.registerPrompt('greet', { argsSchema: { who: completable(z.string(), (value) => [`${value}-from-a`]) } }, async ({ who }) => ({
    messages: [{ role: 'user', content: { type: 'text', text: `a greets ${who}` } }],
  }));
  server.registerResource('readme', 'mem://a/readme', {}, async (uri) => ({ contents: [{ uri: uri.href, text: 'a readme' }] }));
  return server;
}

/** Server `b`: a template whose variable completes, and an unprefixed `whoami`. */
function serverB(): McpServer {
  const server = whoamiServer('b');
  const template = new ResourceTemplate('mem://b/{id}', { list: undefined, complete: { id: async (value) => [`${value}-from-b`] } });
  server.registerResource('item', template, {}, async (uri, { id }) => ({ contents: [{ uri: uri.href, text: `b item ${id}` }] }));
  return server;
}

describe('the routing stage', () => {
  let gw: MemoryGateway;

  beforeAll(async () => {
    gw = await memoryGateway({ a: {}, b: { prefix: false }, c: { prefix: false } }, { a: serverA, b: serverB, c: () => whoamiServer('c') });
  });

  afterAll(() => gw.stop());

  it('maps an exposed tool or prompt name back to the name the server knows', async () => {
    const client = await gw.connect();
    expect(await callText(client, 'a__echo', { message: 'hi' })).toBe('hi');
    const prompt = await client.getPrompt({ name: 'a__greet', arguments: { who: 'you' } });
    expect(prompt.messages[0].content).toEqual({ type: 'text', text: 'a greets you' });
    const completion = await client.complete({ ref: { type: 'ref/prompt', name: 'a__greet' }, argument: { name: 'who', value: 'x' } });
    expect(completion.completion.values).toEqual(['x-from-a']);
  });

  it('answers an unknown tool, prompt or resource with its own code, naming what was asked for, and forwards nothing', async () => {
    const client = await gw.connect();
    const before = gw.core.stats.window(3600);
    const tool = await rejection(client.callTool({ name: 'a__nope', arguments: {} }));
    expect({ code: tool.code, message: tool.message, data: tool.data }).toEqual({
      code: -32602,
      message: 'MCP error -32602: Unknown tool: a__nope',
      data: { name: 'a__nope', fleetCode: 'UNKNOWN_TOOL' },
    });
    const prompt = await rejection(client.getPrompt({ name: 'greet' }));
    expect({ code: prompt.code, message: prompt.message, data: prompt.data }).toEqual({
      code: -32602,
      message: 'MCP error -32602: Unknown prompt: greet',
      data: { name: 'greet', fleetCode: 'UNKNOWN_PROMPT' },
    });
    const resource = await rejection(client.readResource({ uri: 'mem://nowhere/x' }));
    expect({ code: resource.code, message: resource.message, data: resource.data }).toEqual({
      code: -32002,
      message: 'MCP error -32002: Resource not found: mem://nowhere/x',
      data: { uri: 'mem://nowhere/x', fleetCode: 'UNKNOWN_RESOURCE' },
    });
    const completion = await rejection(client.complete({ ref: { type: 'ref/resource', uri: 'mem://nowhere/{x}' }, argument: { name: 'x', value: '' } }));
    expect(completion.data).toEqual({ uri: 'mem://nowhere/{x}', fleetCode: 'UNKNOWN_RESOURCE' });
    expect(gw.core.stats.window(3600)).toEqual(before);
  });

  it('gives the later of two unprefixed servers offering one name its tool under its server name', async () => {
    const client = await gw.connect();
    const names = (await client.listTools()).tools.map((t) => t.name);
    expect(names).toEqual(['a__whoami', 'a__echo', 'whoami', 'echo', 'c__whoami', 'c__echo']);
    expect(await callText(client, 'whoami')).toBe('b');
    expect(await callText(client, 'c__whoami')).toBe('c');
  });

  it('routes a URI to the server that lists the resource or whose template matches it, completions too', async () => {
    const client = await gw.connect();
    expect((await client.readResource({ uri: 'mem://a/readme' })).contents).toEqual([{ uri: 'mem://a/readme', text: 'a readme' }]);
    expect((await client.readResource({ uri: 'mem://b/42' })).contents).toEqual([{ uri: 'mem://b/42', text: 'b item 42' }]);
    const completion = await client.complete({ ref: { type: 'ref/resource', uri: 'mem://b/{id}' }, argument: { name: 'id', value: 'x' } });
    expect(completion.completion.values).toEqual(['x-from-b']);
  });
});

describe('the routing stage with shared and per-session servers', () => {
  it('sends every client to the one shared upstream, and each client to its own per-session upstream', async () => {
    const shared = countingFactory('s');
    const own = countingFactory('p');
    const gw = await memoryGateway({ s: {}, p: { mode: 'per-session' } }, { s: shared.factory, p: own.factory });
    try {
      const first = await gw.connect();
      const second = await gw.connect();
      expect([await callText(first, 's__whoami'), await callText(second, 's__whoami')]).toEqual(['s#1', 's#1']);
      expect([await callText(first, 'p__whoami'), await callText(second, 'p__whoami'), await callText(first, 'p__whoami')]).toEqual(['p#1', 'p#2', 'p#1']);
    } finally {
      await gw.stop();
    }
  });
});

describe('a call to a shared server that is reconnecting', () => {
  it('is refused as unavailable (retryable), naming the server, not as an unknown name; once it is back it is served', async () => {
    let refusing = false;
    const gw = await memoryGateway(
      { s: { restart: { initialDelayMs: 20, maxDelayMs: 50 } } },
      {
        s: () => {
          if (refusing) throw new Error('cannot start yet');
          return serverA();
        },
      },
    );
    try {
      const client = await gw.connect();
      expect(await callText(client, 's__whoami')).toBe('a');
      refusing = true;
      await gw.upstreams.crash('s');
      const group = gw.core.registry.groupFor(undefined, 's')!;
      await waitFor(() => group.lead === undefined, 'the server to be down', 5_000, 5);
      for (const call of [client.callTool({ name: 's__whoami', arguments: {} }), client.readResource({ uri: 'mem://a/readme' })]) {
        const refused = await rejection(call);
        expect({ code: refused.code, data: refused.data }).toEqual({ code: -32000, data: { server: 's', fleetCode: 'UPSTREAM_UNAVAILABLE' } });
        expect(refused.message).toMatch(/server "s", which offers (s__whoami|mem:\/\/a\/readme), is not connected now \(reconnecting\); retry shortly/);
      }
      // a name it never offered is still the client's error
      expect((await rejection(client.callTool({ name: 's__nope', arguments: {} }))).data).toMatchObject({ fleetCode: 'UNKNOWN_TOOL' });
      refusing = false;
      await waitFor(() => group.lead !== undefined, 'the server to be back', 5_000, 5);
      expect(await callText(client, 's__whoami')).toBe('a');
    } finally {
      await gw.stop();
    }
  });
});
