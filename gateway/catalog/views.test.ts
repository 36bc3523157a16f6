/**
 * The merged views: what two servers both offer appears once (the first server in config order
 * keeps it), each problem is warned about once per gateway, and again only after it went away and
 * came back; a view is rebuilt when what it shows changed, and only then.
 */
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { McpServer, ResourceTemplate, type RegisteredTool } from '@modelcontextprotocol/sdk/server/mcp.js';
import { ToolListChangedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { memoryGateway, type MemoryGateway } from '../../test/helpers/memory-gateway';
import { whoamiServer } from '../../test/helpers/memory-servers';
import { waitFor } from '../../test/helpers/wait';

const TEMPLATE_WARNING = 'two servers list the same resource template; the first server in config order serves it';
const TOOL_WARNING = 'tool name already taken; exposed under another name';

/** A server listing the template every server here lists, and reading it as itself. */
function withTemplate(label: string): McpServer {
  const server = whoamiServer(label);
  server.registerResource('item', new ResourceTemplate('mem://common/{id}', { list: undefined }), {}, async (uri) => ({
    contents: [{ uri: uri.href, text: `${label} reads it` }],
  }));
  return server;
}

const warnings = (gw: MemoryGateway, msg: string) => gw.logs.filter((l) => l.msg === msg);

describe('the merged views', () => {
  it('list a template two servers offer once, served by the first, with one warning however many views show it', async () => {
    const gw = await memoryGateway(
      { a: {}, b: {}, own: { mode: 'per-session' } },
      { a: () => withTemplate('a'), b: () => withTemplate('b'), own: () => whoamiServer('own') },
    );
    try {
      // Each client has a per-session server, so a view of its own that also shows the shared servers.
      for (const client of [await gw.connect(), await gw.connect()]) {
        expect((await client.listResourceTemplates()).resourceTemplates.map((t) => t.uriTemplate)).toEqual(['mem://common/{id}']);
        expect((await client.readResource({ uri: 'mem://common/1' })).contents).toEqual([{ uri: 'mem://common/1', text: 'a reads it' }]);
        await client.listResourceTemplates();
      }
      expect(warnings(gw, TEMPLATE_WARNING)).toEqual([expect.objectContaining({ level: 40, uriTemplate: 'mem://common/{id}', server: 'b', owner: 'a' })]);
    } finally {
      await gw.stop();
    }
  });

  describe('a collision that goes away and comes back', () => {
    let gw: MemoryGateway;
    let b: McpServer;
    let echo: RegisteredTool | undefined;
    let client: Client;
    let changes = 0;

    /** Lists the tools once the client heard the n-th list_changed. */
    const toolsAfter = async (n: number) => {
      await waitFor(() => changes >= n, `list_changed #${n}`, 5_000, 5);
      return (await client.listTools()).tools.map((t) => t.name);
    };

    beforeAll(async () => {
      gw = await memoryGateway(
        { a: { prefix: false }, b: { prefix: false } },
        {
          a: () => whoamiServer('a'),
          b: () => {
            b = new McpServer({ name: 'b', version: '1' });
            echo = b.registerTool('echo', {}, async () => ({ content: [{ type: 'text', text: 'b' }] }));
            b.registerTool('other', {}, async () => ({ content: [{ type: 'text', text: 'b' }] }));
            return b;
          },
        },
      );
      client = await gw.connect({ setup: (c) => c.setNotificationHandler(ToolListChangedNotificationSchema, () => void changes++) });
    });

    afterAll(() => gw.stop());

    it('is warned about once while it lasts', async () => {
      expect((await client.listTools()).tools.map((t) => t.name)).toEqual(['whoami', 'echo', 'b__echo', 'other']);
      await gw.connect().then((second) => second.listTools());
      expect(warnings(gw, TOOL_WARNING)).toEqual([expect.objectContaining({ tool: 'echo', server: 'b', exposedAs: 'b__echo', takenBy: 'a' })]);
    });

    it('is forgotten when it goes away, and warned about again when it comes back', async () => {
      echo!.remove();
      expect(await toolsAfter(1)).toEqual(['whoami', 'echo', 'other']);
      echo = b.registerTool('echo', {}, async () => ({ content: [{ type: 'text', text: 'b' }] }));
      expect(await toolsAfter(2)).toEqual(['whoami', 'echo', 'other', 'b__echo']);
      expect(warnings(gw, TOOL_WARNING)).toHaveLength(2);
    });
  });

  // Known bug (reported, not fixed here: catalog/ is not this change's to edit): each session's view
  // remembers its own problems, so a per-session server's collision is warned once per session.
  // Flip to `it` once views.ts counts per-session problems gateway-wide.
  it('warns once about a per-session server colliding with a shared one, however many sessions see it', async () => {
    const gw = await memoryGateway(
      { s: { prefix: false }, p: { prefix: false, mode: 'per-session' } },
      { s: () => whoamiServer('s'), p: () => whoamiServer('p') },
    );
    try {
      for (let i = 0; i < 3; i++) await (await gw.connect()).listTools();
      expect(warnings(gw, TOOL_WARNING).map((l) => l.tool)).toEqual(['whoami', 'echo']);
    } finally {
      await gw.stop();
    }
  });

  it('keep a view until what it shows changes: a shared server for every view, a per-session one for its owner only', async () => {
    const own: McpServer[] = [];
    let shared!: McpServer;
    const gw = await memoryGateway(
      { s: {}, p: { mode: 'per-session' } },
      {
        s: () => (shared = whoamiServer('s')),
        p: () => {
          const server = whoamiServer(`p${own.length}`, 'p');
          own.push(server);
          return server;
        },
      },
    );
    try {
      let heard = 0;
      const [first, second] = [
        await gw.connect({ setup: (c) => c.setNotificationHandler(ToolListChangedNotificationSchema, () => void heard++) }),
        await gw.connect(),
      ];
      const [firstId, secondId] = gw.core.registry.ownersOf('p');
      const views = gw.core.views;
      const [firstView, secondView] = [views.for(firstId), views.for(secondId)];
      expect(views.for(firstId)).toBe(firstView);
      // The second client's own server adds a tool: only its view is rebuilt.
      own[1].registerTool('extra', {}, async () => ({ content: [] }));
      await waitFor(() => views.for(secondId) !== secondView, "the second client's view rebuilt", 5_000, 5);
      expect(views.for(firstId)).toBe(firstView);
      expect((await second.listTools()).tools.map((t) => t.name)).toContain('p__extra');
      expect((await first.listTools()).tools.map((t) => t.name)).not.toContain('p__extra');
      // The shared server adds one: every view is rebuilt, and shows it.
      shared.registerTool('new', {}, async () => ({ content: [] }));
      await waitFor(() => heard >= 1, 'list_changed from the shared server', 5_000, 5);
      expect(views.for(firstId)).not.toBe(firstView);
      for (const client of [first, second]) expect((await client.listTools()).tools.map((t) => t.name)).toContain('s__new');
    } finally {
      await gw.stop();
    }
  });
});
