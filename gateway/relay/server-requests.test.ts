/**
 * A server's own requests (sampling, elicitation): what each needs of its client, and, through the
 * in-memory gateway, which client it reaches, when it is refused, and its withdrawal by the server.
 */
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { CreateMessageRequestSchema, ElicitRequestSchema, type ClientCapabilities } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import type { JsonRpcRequest } from '../protocol/jsonrpc';
import { memoryGateway, type MemoryGateway } from '../../test/helpers/memory-gateway';
import { barrier, callText, deferred, rejection } from '../../test/helpers/memory-servers';
import { missingCapability } from './server-requests';

const request = (method: string, params: Record<string, unknown> = {}): JsonRpcRequest => ({ jsonrpc: '2.0', id: 1, method, params });

describe('what a server request needs of the client it goes to', () => {
  it('lets sampling through to a client that declared sampling, and sampling with tools only to one that declared tools', () => {
    expect(missingCapability(request('sampling/createMessage'), { sampling: {} })).toBeUndefined();
    expect(missingCapability(request('sampling/createMessage', { tools: [{ name: 't' }] }), { sampling: {} })).toBe('sampling.tools');
    expect(missingCapability(request('sampling/createMessage', { tools: [{ name: 't' }] }), { sampling: { tools: {} } })).toBeUndefined();
    expect(missingCapability(request('sampling/createMessage'), {})).toBe('sampling');
  });

  it('reads an empty elicitation capability as form mode, and sends URL elicitation only to a client that declared url', () => {
    expect(missingCapability(request('elicitation/create', { message: 'm', requestedSchema: {} }), { elicitation: {} })).toBeUndefined();
    expect(missingCapability(request('elicitation/create', { mode: 'url', url: 'https://x', message: 'm' }), { elicitation: {} })).toBe('elicitation.url');
    expect(missingCapability(request('elicitation/create', { mode: 'url', url: 'https://x', message: 'm' }), { elicitation: { url: {} } })).toBeUndefined();
    expect(missingCapability(request('elicitation/create', { mode: 'form', message: 'm' }), { elicitation: { url: {} } })).toBe('elicitation.form');
    expect(missingCapability(request('elicitation/create'), {})).toBe('elicitation');
  });

  it('asks for roots only from a client that offers roots, and lets ping and unknown requests through', () => {
    expect(missingCapability(request('roots/list'), {})).toBe('roots');
    expect(missingCapability(request('roots/list'), { roots: { listChanged: true } })).toBeUndefined();
    expect(missingCapability(request('ping'), {})).toBeUndefined();
    expect(missingCapability(request('constructor'), {})).toBeUndefined();
  });
});

/**
 * A server whose tools ask the client of the call: `ask` samples, `confirm` elicits, `pair-ask`
 * samples once two calls are in flight, `withdraw` samples and cancels its request once the client has it.
 */
function asker(name: string, live: Map<string, McpServer>, clientHasIt: Promise<void>): McpServer {
  const server = new McpServer({ name, version: '1' });
  live.set(name, server);
  const failure = (err: unknown) => ({ content: [{ type: 'text' as const, text: `refused: ${(err as Error).message}` }] });
  const sample = async (prompt: string, options?: { signal: AbortSignal }) => {
    const result = await server.server.createMessage({ messages: [{ role: 'user', content: { type: 'text', text: prompt } }], maxTokens: 10 }, options);
    return { content: [{ type: 'text' as const, text: (result.content as { text: string }).text }] };
  };
  const bothInFlight = barrier(2);
  server.registerTool('ask', { inputSchema: { prompt: z.string() } }, ({ prompt }) => sample(prompt).catch(failure));
  server.registerTool('pair-ask', { inputSchema: { prompt: z.string() } }, async ({ prompt }) => {
    await bothInFlight();
    return sample(prompt).catch(failure);
  });
  server.registerTool('confirm', {}, async () => {
    const answer = await server.server.elicitInput({ message: 'sure?', requestedSchema: { type: 'object', properties: { who: { type: 'string' } } } });
    return { content: [{ type: 'text', text: `${answer.action} by ${answer.content?.who}` }] };
  });
  server.registerTool('withdraw', {}, async () => {
    const asking = new AbortController();
    const asked = sample('withdraw me', { signal: asking.signal }).catch(failure);
    await clientHasIt;
    asking.abort('changed my mind');
    return asked;
  });
  return server;
}

describe('server requests through the gateway', () => {
  let gw: MemoryGateway;
  const live = new Map<string, McpServer>();
  /** What each client was asked, by client name. */
  const asked: Record<string, string[]> = {};
  const withdrawn = deferred<unknown>();
  const reachedClient = deferred();

  /** A client that declares sampling and elicitation and answers under its name. */
  const connect = (who: string, capabilities: ClientCapabilities = { sampling: {}, elicitation: {} }) =>
    gw.connect({
      capabilities,
      setup: (c) => {
        asked[who] = [];
        if (capabilities.sampling)
          c.setRequestHandler(CreateMessageRequestSchema, async (r, extra) => {
            const prompt = (r.params.messages[0].content as { text: string }).text;
            asked[who].push(prompt);
            if (prompt === 'withdraw me') {
              reachedClient.resolve();
              withdrawn.resolve(await new Promise((resolve) => extra.signal.addEventListener('abort', () => resolve(extra.signal.reason))));
            }
            return { model: who, role: 'assistant', content: { type: 'text', text: `${who} answers ${prompt}` } };
          });
        if (capabilities.elicitation) c.setRequestHandler(ElicitRequestSchema, async () => (asked[who].push('elicit'), { action: 'accept', content: { who } }));
      },
    });

  beforeAll(async () => {
    gw = await memoryGateway(
      { s: {}, p: { mode: 'per-session' } },
      { s: () => asker('s', live, reachedClient.promise), p: () => asker('p', live, reachedClient.promise) },
    );
  });

  afterAll(() => gw.stop());

  it('takes a per-session server request to the client it belongs to', async () => {
    const [alice, bob] = [await connect('alice'), await connect('bob')];
    expect(await callText(alice, 'p__ask', { prompt: 'hi' })).toBe('alice answers hi');
    expect(await callText(bob, 'p__ask', { prompt: 'hi' })).toBe('bob answers hi');
    expect(await callText(bob, 'p__confirm')).toBe('accept by bob');
    expect(await callText(alice, 'p__confirm')).toBe('accept by alice');
  });

  it('takes a shared server request to the one client with a call in flight there', async () => {
    const [alice, bob] = [await connect('alice'), await connect('bob')];
    expect(await callText(alice, 's__ask', { prompt: 'one' })).toBe('alice answers one');
    expect(await callText(bob, 's__ask', { prompt: 'two' })).toBe('bob answers two');
    expect(await callText(bob, 's__confirm')).toBe('accept by bob');
  });

  it('refuses a shared server request while two clients have calls in flight there, asking neither', async () => {
    const [alice, bob] = [await connect('alice'), await connect('bob')];
    const answers = await Promise.all([callText(alice, 's__pair-ask', { prompt: 'whose?' }), callText(bob, 's__pair-ask', { prompt: 'whose?' })]);
    for (const answer of answers) {
      expect(answer).toBe(
        'refused: MCP error -32601: server "s" sent sampling/createMessage while 2 client sessions had calls in flight on its shared upstream; the gateway cannot tell which client it is for and does not guess. Set mode: per-session for servers that ask clients for sampling, elicitation or roots.',
      );
    }
    expect([asked.alice, asked.bob]).toEqual([[], []]);
  });

  it('refuses a shared server request for a client that did not declare the capability, and one with no call to belong to', async () => {
    const carol = await connect('carol', {});
    expect(await callText(carol, 's__ask', { prompt: 'x' })).toBe(
      'refused: MCP error -32601: the client does not support sampling (it did not declare the capability)',
    );
    const orphan = await rejection(live.get('s')!.server.createMessage({ messages: [], maxTokens: 1 }));
    expect(orphan.message).toBe('MCP error -32601: no client session is waiting on server "s", so its sampling/createMessage request has nobody to answer it');
    // A ping with nobody to ask is answered by the gateway.
    await expect(live.get('s')!.server.ping()).resolves.toEqual({});
  });

  it('withdraws a server request from the client when the server cancels it', async () => {
    const dave = await connect('dave');
    expect(await callText(dave, 'p__withdraw')).toBe('refused: MCP error -32001: changed my mind');
    expect(await withdrawn.promise).toBe('changed my mind');
    expect(asked.dave).toEqual(['withdraw me']);
  });
});

describe('a server request the client does not answer', () => {
  /** A shared server whose `ask` tool reports how its sampling request ended. */
  const reporting = (ended: (message: string) => void) => {
    const server = new McpServer({ name: 's', version: '1' });
    server.registerTool('ask', {}, async () => {
      const outcome = await server.server.createMessage({ messages: [{ role: 'user', content: { type: 'text', text: 'q' } }], maxTokens: 1 }).then(
        () => 'answered',
        (err: Error) => err.message,
      );
      ended(outcome);
      return { content: [{ type: 'text', text: outcome }] };
    });
    return server;
  };

  /** A client whose sampling handler never answers, and reports why it was cancelled. */
  const silent = (gw: MemoryGateway, cancelled: (reason: unknown) => void) =>
    gw.connect({
      capabilities: { sampling: {} },
      setup: (c) =>
        c.setRequestHandler(
          CreateMessageRequestSchema,
          (_r, extra) =>
            new Promise((_resolve, reject) => extra.signal.addEventListener('abort', () => (cancelled(extra.signal.reason), reject(new Error('aborted'))))),
        ),
    });

  it('times out: the server hears UPSTREAM_TIMEOUT, the client is told the request is cancelled', async () => {
    const ended = deferred<string>();
    const cancelled = deferred<unknown>();
    const gw = await memoryGateway({ s: { requestTimeoutMs: 200 } }, { s: () => reporting(ended.resolve) });
    try {
      const client = await silent(gw, cancelled.resolve);
      // The call itself times out too (it started first); what matters is how the server request ends.
      void client.callTool({ name: 's__ask', arguments: {} }).catch(() => undefined);
      expect(await ended.promise).toBe('MCP error -32001: client did not answer sampling/createMessage within 200 ms');
      expect(await cancelled.promise).toBe('timed out in gateway');
    } finally {
      await gw.stop();
    }
  });

  it('is answered UPSTREAM_UNAVAILABLE when the client session closes', async () => {
    const ended = deferred<string>();
    const asked = deferred<unknown>();
    const gw = await memoryGateway({ s: {} }, { s: () => reporting(ended.resolve) });
    try {
      const client = await gw.connect({
        capabilities: { sampling: {} },
        setup: (c) => c.setRequestHandler(CreateMessageRequestSchema, () => (asked.resolve(undefined), new Promise(() => {}))),
      });
      void client.callTool({ name: 's__ask', arguments: {} }).catch(() => undefined);
      await asked.promise;
      await client.close();
      expect(await ended.promise).toBe('MCP error -32000: client session closed');
    } finally {
      await gw.stop();
    }
  });
});
