/**
 * One endpoint, many servers: real server-everything, server-memory and server-filesystem behind
 * the gateway, driven by the official SDK client over each of the four fronts.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { FRONTS, connectClient, newMarker, startTestGateway, waitForGatewayLog, type TestGateway } from '../helpers/gateway';
import type { LogLine } from '../helpers/log-lines';
import { everything, filesystem, memory } from '../helpers/servers';
import { waitForNoProcesses } from '../helpers/processes';

describe.each(FRONTS)('aggregation over %s', (front) => {
  let gw: TestGateway;
  let client: Client;
  let dir: string;
  const marker = newMarker();

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'mcp-fleet-agg-'));
    writeFileSync(join(dir, 'hello.txt'), 'hello from the filesystem server');
    gw = await startTestGateway(
      {
        servers: {
          everything: everything(marker),
          memory: memory(marker, join(dir, 'memory.jsonl'), { prefix: 'mem' }),
          files: filesystem(marker, dir),
        },
      },
      marker,
    );
    client = await connectClient(gw, front);
  });

  afterAll(async () => {
    await client?.close();
    await gw?.stop();
    expect(await waitForNoProcesses(marker)).toEqual([]);
    rmSync(dir, { recursive: true, force: true });
  });

  it('lists the tools of every server under prefixed names', async () => {
    const { tools } = await client.listTools();
    const names = tools.map((t) => t.name);
    expect(names).toEqual(expect.arrayContaining(['everything__echo', 'mem__create_entities', 'mem__read_graph', 'files__read_text_file']));
    expect(names.every((n) => /^[A-Za-z0-9_.-]{1,128}$/.test(n))).toBe(true);
    expect(new Set(names).size).toBe(names.length);
    const echo = tools.find((t) => t.name === 'everything__echo')!;
    expect(echo.inputSchema).toMatchObject({ type: 'object', properties: { message: expect.any(Object) } });
  });

  it("captures each server's stderr in the gateway log, tagged with the server name", async () => {
    const stderrOf = (server: string, text: string) => (l: LogLine) => l.stream === 'stderr' && l.server === server && String(l.msg).includes(text);
    await waitForGatewayLog(gw, client, stderrOf('files', 'Secure MCP Filesystem Server'), "files' stderr");
    await waitForGatewayLog(gw, client, stderrOf('memory', 'Knowledge Graph MCP Server'), "memory's stderr");
  });

  it('routes calls to the server that owns the tool', async () => {
    expect(await client.callTool({ name: 'everything__echo', arguments: { message: 'hi' } })).toEqual({ content: [{ type: 'text', text: 'Echo: hi' }] });
    await client.callTool({ name: 'mem__create_entities', arguments: { entities: [{ name: `e-${front}`, entityType: 'test', observations: ['o'] }] } });
    const graph = await client.callTool({ name: 'mem__read_graph', arguments: {} });
    expect(JSON.stringify(graph)).toContain(`e-${front}`);
    const file = await client.callTool({ name: 'files__read_text_file', arguments: { path: join(dir, 'hello.txt') } });
    expect(JSON.stringify(file)).toContain('hello from the filesystem server');
  });

  it('reads resources and resource templates from their owning server', async () => {
    const { resources } = await client.listResources();
    expect(resources.length).toBeGreaterThan(0);
    const first = resources.find((r) => r.uri.startsWith('demo://'))!;
    const read = await client.readResource({ uri: first.uri });
    expect(read.contents[0].uri).toBe(first.uri);
    const { resourceTemplates } = await client.listResourceTemplates();
    expect(resourceTemplates.length).toBeGreaterThan(0);
  });

  it('gets prompts by prefixed name and completes their arguments', async () => {
    const { prompts } = await client.listPrompts();
    expect(prompts.map((p) => p.name)).toEqual(expect.arrayContaining(['everything__simple-prompt', 'everything__completable-prompt']));
    const prompt = await client.getPrompt({ name: 'everything__simple-prompt' });
    expect(prompt.messages.length).toBeGreaterThan(0);
    const completion = await client.complete({
      ref: { type: 'ref/prompt', name: 'everything__completable-prompt' },
      argument: { name: 'department', value: 'E' },
    });
    expect(completion.completion.values).toEqual(expect.arrayContaining(['Engineering']));
  });

  it('names the unknown tool, prompt or resource in the error and keeps serving', async () => {
    await expect(client.callTool({ name: 'nope__missing', arguments: {} })).rejects.toThrow(/Unknown tool: nope__missing/);
    await expect(client.getPrompt({ name: 'nope__prompt' })).rejects.toThrow(/Unknown prompt: nope__prompt/);
    await expect(client.readResource({ uri: 'nothing://here' })).rejects.toThrow(/Resource not found: nothing:\/\/here/);
    expect(await client.ping()).toEqual({});
  });
});
