/**
 * The fixture over stdio (how the gateway runs it as an upstream) serves either protocol era, chosen
 * per connection by its opening message: a client pinned to 2026-07-28 that answers input_required
 * rounds and listens for list changes, and a 2025-11-25 client whose elicitation arrives as a real
 * server-to-client request. The conformance suite reaches the fixture only over HTTP; this covers
 * stdio with the official v2 client against the compiled fixture process.
 */
import { resolve } from 'node:path';
import { Client, type ClientOptions } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { requireCurrentBuild } from '../helpers/dist';

const FIXTURE = resolve(__dirname, '..', '..', 'dist', 'test', 'conformance', 'fixture-server.js');

const clients: Client[] = [];

/** A client on a fresh fixture process; `answer` fills every form elicitation the fixture asks for. */
async function connect(options: ClientOptions, answer: (message: string) => Record<string, string>, asked: string[]): Promise<Client> {
  const client = new Client({ name: 'fixture-stdio-test', version: '1.0.0' }, { ...options, capabilities: { elicitation: {} } });
  client.setRequestHandler('elicitation/create', async (request) => {
    asked.push(request.params.message);
    return { action: 'accept', content: answer(request.params.message) };
  });
  clients.push(client);
  await client.connect(new StdioClientTransport({ command: process.execPath, args: [FIXTURE, '--stdio'] }));
  return client;
}

beforeAll(() => requireCurrentBuild(['test/conformance']));
afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.close()));
});

it('serves a 2026-07-28 client over stdio: input_required rounds carry the state, list changes reach its listen stream', async () => {
  const asked: string[] = [];
  const client = await connect(
    { versionNegotiation: { mode: { pin: '2026-07-28' } } },
    (message): Record<string, string> => (message.includes('name') ? { name: 'Ada' } : { color: 'green' }),
    asked,
  );
  expect(client.getNegotiatedProtocolVersion()).toBe('2026-07-28');

  const result = await client.callTool({ name: 'test_input_required_result_multi_round', arguments: {} });
  expect(result.content).toEqual([{ type: 'text', text: 'Ada likes green' }]);
  expect(asked).toEqual(['Step 1: What is your name?', 'Step 2: What is your favorite color?']);

  const toolsChanged = new Promise<void>((resolve) => client.setNotificationHandler('notifications/tools/list_changed', () => resolve()));
  const subscription = await client.listen({ toolsListChanged: true, promptsListChanged: true });
  expect(subscription.honoredFilter).toEqual({ toolsListChanged: true, promptsListChanged: true });
  await client.callTool({ name: 'test_trigger_tool_change', arguments: {} });
  await toolsChanged;
  await subscription.close();
});

it('serves a 2025-11-25 client over stdio: the same handler elicits with a real elicitation/create request', async () => {
  const asked: string[] = [];
  const client = await connect({}, () => ({ username: 'ada', email: 'ada@example.com' }), asked);
  expect(client.getNegotiatedProtocolVersion()).toBe('2025-11-25');

  const result = await client.callTool({ name: 'test_elicitation', arguments: { message: 'Who are you?' } });
  expect(result.content).toEqual([{ type: 'text', text: 'Elicitation completed: action=accept, content={"username":"ada","email":"ada@example.com"}' }]);
  expect(asked).toEqual(['Who are you?']);
});
