/**
 * A 2026-07-28 server's questions during a call (input_required with elicitation, sampling and
 * roots inputRequests), through the gateway, for clients of both eras. The server is the project's
 * conformance fixture (SDK v2), over stdio and over Streamable HTTP.
 *
 * - An SDK v1 client (2025-11-25) gets each question as an ordinary request on its call's stream,
 *   answers it, and receives one ordinary final result: the gateway retried the server with the
 *   answers and the server's requestState, round after round.
 * - A 2026-07-28 client gets the server's input_required itself, with the server's requestState
 *   sealed inside the gateway's, and its retry reaches the server with the server's own state.
 */
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { CreateMessageRequestSchema, ElicitRequestSchema, ListRootsRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { connectModernGateway, type ModernConnection } from '../../gateway/client/connect-modern';
import { connectClient, disconnect, newMarker, startTestGateway, type FrontKind, type TestGateway } from '../helpers/gateway';
import { requireCurrentBuild } from '../helpers/dist';
import { fixtureStdio, startFixtureHttp } from '../helpers/fixture-servers';
import { waitForNoProcesses } from '../helpers/processes';
import { envelope, modernRequest, postModern } from '../helpers/raw-modern';
import type { RemoteServer } from '../helpers/remote-servers';

jest.setTimeout(60_000);

let gw: TestGateway;
let http: RemoteServer;
const marker = newMarker();
const clients: Client[] = [];
const modern: ModernConnection[] = [];

/** What the client was asked, in order: "elicitation: <message>", "sampling: <prompt>", "roots". */
type Asked = string[];

/** An SDK v1 client that declares elicitation, sampling and roots, and answers each as a user would. */
async function answeringClient(front: FrontKind, asked: Asked): Promise<Client> {
  const client = await connectClient(gw, front, {
    capabilities: { elicitation: {}, sampling: {}, roots: {} },
    setup: (c) => {
      c.setRequestHandler(ElicitRequestSchema, async (r) => {
        asked.push(`elicitation: ${r.params.message}`);
        const { message } = r.params;
        return {
          action: 'accept',
          content: message.includes('color') ? { color: 'green' } : message.includes('context') ? { context: 'Ada' } : { name: 'Ada' },
        };
      });
      c.setRequestHandler(CreateMessageRequestSchema, async (r) => {
        const content = r.params.messages[0].content;
        asked.push(`sampling: ${'text' in content ? content.text : '?'}`);
        return { model: 'test-model', role: 'assistant', content: { type: 'text', text: 'Paris' } };
      });
      c.setRequestHandler(ListRootsRequestSchema, async () => {
        asked.push('roots');
        return { roots: [{ uri: 'file:///work', name: 'work' }] };
      });
    },
  });
  clients.push(client);
  return client;
}

function textOf(result: unknown): string {
  return (result as { content: { text: string }[] }).content.map((c) => c.text).join('\n');
}

beforeAll(async () => {
  requireCurrentBuild(['test/conformance']);
  http = await startFixtureHttp(marker);
  gw = await startTestGateway({ servers: { fx: fixtureStdio(marker), fh: { url: http.url } } }, marker);
});

afterAll(async () => {
  for (const c of clients) await disconnect(c).catch(() => {});
  for (const c of modern) await c.close();
  await gw?.stop();
  await http?.stop();
  expect(await waitForNoProcesses(marker)).toEqual([]);
});

describe.each([
  ['Streamable HTTP', 'streamable-http', 'fh'],
  ['stdio', 'stdio', 'fx'],
  ['WebSocket', 'websocket', 'fh'],
] as const)('an SDK v1 client over %s', (_name, front, server) => {
  it.each([
    ['elicitation', 'test_input_required_result_elicitation', ['elicitation: What is your name?'], 'Hello, Ada!'],
    ['sampling', 'test_input_required_result_sampling', ['sampling: What is the capital of France?'], 'The model said: Paris'],
    ['roots', 'test_input_required_result_list_roots', ['roots'], 'Client roots: file:///work'],
  ])('answers the %s a 2026-07-28 server asks during its call, and gets one ordinary result', async (_kind, tool, questions, text) => {
    const asked: Asked = [];
    const client = await answeringClient(front, asked);
    const result = await client.callTool({ name: `${server}__${tool}`, arguments: {} });
    expect([asked, textOf(result), result.isError ?? false]).toEqual([questions, text, false]);
    expect(result).not.toHaveProperty('resultType');
  });

  it("answers every question of a round at once, and round after round, with the server's state carried between them", async () => {
    const asked: Asked = [];
    const client = await answeringClient(front, asked);
    const all = await client.callTool({ name: `${server}__test_input_required_result_multiple_inputs`, arguments: {} });
    expect(textOf(all)).toBe('Paris Ada (roots: file:///work)');
    expect([...asked].sort()).toEqual(['elicitation: What is your name?', 'roots', 'sampling: Generate a greeting']);
    asked.length = 0;
    const rounds = await client.callTool({ name: `${server}__test_input_required_result_multi_round`, arguments: {} });
    expect([asked, textOf(rounds)]).toEqual([
      ['elicitation: Step 1: What is your name?', 'elicitation: Step 2: What is your favorite color?'],
      'Ada likes green',
    ]);
  });
});

it.each(['fx', 'fh'])("answers the elicitation a 2026-07-28 server's prompt asks before it is made (prompts/get), for an SDK v1 client", async (server) => {
  const asked: Asked = [];
  const client = await answeringClient('streamable-http', asked);
  const prompt = await client.getPrompt({ name: `${server}__test_input_required_result_prompt` });
  expect([asked, prompt.messages]).toEqual([
    ['elicitation: What context should the prompt use?'],
    [{ role: 'user', content: { type: 'text', text: 'Answer with this context in mind: Ada' } }],
  ]);
});

it.each(['fx', 'fh'])('passes on %s refusing a question the SDK v1 client did not declare it can answer (-32021), and stays connected', async (server) => {
  const client = await connectClient(gw, 'streamable-http');
  clients.push(client);
  await expect(client.callTool({ name: `${server}__test_input_required_result_sampling`, arguments: {} })).rejects.toThrow(
    "MCP error -32021: Cannot request input 'capital_question' (sampling/createMessage): the request's client capabilities do not declare the required capability",
  );
  expect(gw.registry.groupFor(undefined, server)!.state).toBe('ready');
  expect(textOf(await client.callTool({ name: `${server}__test_simple_text`, arguments: {} }))).toBe('This is a simple text response for testing.');
});

describe('a 2026-07-28 client in front of a 2026-07-28 server', () => {
  it.each(['fx', 'fh'])("gets the input_required of %s with the server state sealed in the gateway's, and its retry completes there", async (server) => {
    const mcp = `${gw.url}/mcp`;
    const tool = `${server}__test_input_required_result_request_state`;
    const caps = envelope({ elicitation: {} });
    const first = await postModern(mcp, modernRequest(1, 'tools/call', { name: tool, arguments: {} }, caps));
    const asked = first.messages[0].result;
    expect(asked).toMatchObject({ resultType: 'input_required', inputRequests: { confirm: { method: 'elicitation/create' } } });
    expect(asked.requestState).toMatch(/^fs1\./); // the gateway's seal, not the server's own state
    const retry = await postModern(
      mcp,
      modernRequest(
        2,
        'tools/call',
        { name: tool, arguments: {}, inputResponses: { confirm: { action: 'accept', content: { ok: true } } }, requestState: asked.requestState },
        caps,
      ),
    );
    expect(retry.messages[0].result).toMatchObject({
      resultType: 'complete',
      content: [{ type: 'text', text: 'state-ok: the signed requestState came back and the user answered ok=true' }],
    });
  });

  it('is carried through every round by the SDK v2 client pinned to 2026-07-28', async () => {
    const asked: string[] = [];
    const connection = await connectModernGateway(gw.url, {
      capabilities: { elicitation: {} },
      setup: (c) =>
        c.setRequestHandler('elicitation/create', async (r) => {
          asked.push(r.params.message);
          const content: Record<string, string> = r.params.message.includes('color') ? { color: 'blue' } : { name: 'Grace' };
          return { action: 'accept', content };
        }),
    });
    modern.push(connection);
    const result = await connection.client.callTool({ name: 'fh__test_input_required_result_multi_round', arguments: {} });
    expect([asked, textOf(result)]).toEqual([['Step 1: What is your name?', 'Step 2: What is your favorite color?'], 'Grace likes blue']);
  });
});
