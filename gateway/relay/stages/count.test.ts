/**
 * The counting stage: every forwarded call ends up in the statistics of the backend that served it
 * (ok, error, or tool_error when the tool ran and reported failure), and leaves one `call` log line
 * with its trace, unless `log.calls` is off.
 */
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import { parseBackendBody } from '../../admin/bodies';
import { memoryGateway, type MemoryGateway } from '../../../test/helpers/memory-gateway';
import { deferred, logLines, rejection } from '../../../test/helpers/memory-servers';

/** A server whose `ok` tool succeeds, whose `fails` tool reports failure and whose `broken` prompt is refused. */
function outcomes(): McpServer {
  const server = new McpServer({ name: 'a', version: '1' });
  server.registerTool('ok', {}, async () => ({ content: [{ type: 'text', text: 'fine' }] }));
  server.registerTool('fails', {}, async () => {
    throw new Error('the tool ran and failed');
  });
  server.registerPrompt('broken', {}, async () => {
    throw new McpError(-32603, 'the prompt cannot be made');
  });
  return server;
}

async function withCanary(settings: Record<string, unknown> = {}): Promise<MemoryGateway> {
  const gw = await memoryGateway({ a: {} }, { a: outcomes }, settings);
  // Equal weights: smooth round-robin alternates, the earlier backend first.
  await gw.core.registry.addBackend('a', parseBackendBody({ id: 'canary', weight: 100, command: 'in-memory' }, gw.core.registry.get('a').config));
  return gw;
}

describe('the counting stage', () => {
  it('counts each call for the backend that served it, by outcome, with one call line each', async () => {
    const gw = await withCanary();
    try {
      const client = await gw.connect();
      await client.callTool({ name: 'a__ok', arguments: {} }); // primary
      await client.callTool({ name: 'a__ok', arguments: {} }); // canary
      expect((await client.callTool({ name: 'a__fails', arguments: {} })).isError).toBe(true); // primary
      expect((await rejection(client.getPrompt({ name: 'a__broken' }))).code).toBe(-32603); // canary: the server's own error
      const stats = gw.core.stats.window(3600).a;
      expect(stats.primary).toMatchObject({ calls: 2, errors: 0, toolErrors: 1, errorRate: 0.5 });
      expect(stats.canary).toMatchObject({ calls: 2, errors: 1, toolErrors: 0, errorRate: 0.5 });
      const lines = await logLines(gw, 'call', 4);
      expect(lines.map((l) => [l.backend, l.method, l.outcome])).toEqual([
        ['primary', 'tools/call', 'ok'],
        ['canary', 'tools/call', 'ok'],
        ['primary', 'tools/call', 'tool_error'],
        ['canary', 'prompts/get', 'error'],
      ]);
      for (const line of lines) {
        expect(line).toMatchObject({
          server: 'a',
          level: 30,
          session: expect.any(String),
          trace: expect.stringMatching(/^[0-9a-f]{32}$/),
          span: expect.stringMatching(/^[0-9a-f]{16}$/),
        });
        expect(typeof line.ms).toBe('number');
      }
    } finally {
      await gw.stop();
    }
  });

  it('counts a call the client cancelled as cancelled: no call, no error of the backend', async () => {
    const started = deferred();
    const gw = await memoryGateway(
      { a: {} },
      {
        a: () => {
          const server = new McpServer({ name: 'a', version: '1' });
          server.registerTool('hang', {}, async () => {
            started.resolve();
            return new Promise(() => {}); // answers never; the client gives up
          });
          return server;
        },
      },
    );
    try {
      const client = await gw.connect();
      const controller = new AbortController();
      const call = client.callTool({ name: 'a__hang', arguments: {} }, undefined, { signal: controller.signal });
      await started.promise;
      controller.abort('changed my mind');
      await expect(call).rejects.toThrow();
      const [line] = await logLines(gw, 'call', 1);
      expect(line).toMatchObject({ backend: 'primary', outcome: 'cancelled' });
      expect(gw.core.stats.window(3600).a.primary).toMatchObject({ calls: 0, errors: 0, errorRate: 0, cancelled: 1 });
    } finally {
      await gw.stop();
    }
  });

  it('writes no call line with log.calls off, and still counts', async () => {
    const gw = await withCanary({ log: { calls: false } });
    try {
      const client = await gw.connect();
      await client.callTool({ name: 'a__ok', arguments: {} });
      await client.callTool({ name: 'a__ok', arguments: {} });
      expect(gw.core.stats.window(3600).a).toMatchObject({ primary: { calls: 1 }, canary: { calls: 1 } });
      // The lines would be written before the answer reached the client.
      expect(gw.logs.filter((l) => l.msg === 'call')).toEqual([]);
    } finally {
      await gw.stop();
    }
  });
});
