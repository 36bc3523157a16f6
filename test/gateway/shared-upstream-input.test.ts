/**
 * Two client sessions with calls in flight on one shared 2025 upstream, and the server asks each
 * caller something (elicitation). Over Streamable HTTP the server's request arrives on the stream
 * of the POST it belongs to, so the gateway knows whose it is: each client gets its own question
 * and its own result. Over stdio nothing on the wire says which call a request belongs to, so the
 * gateway still refuses to guess. The server is the conformance fixture (SDK v2) pinned to
 * 2025-11-25, over HTTP and over stdio; the clients are SDK v1 clients.
 */
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { ElicitRequestSchema, type ElicitResult } from '@modelcontextprotocol/sdk/types.js';
import { connectClient, disconnect, newMarker, startTestGateway, type TestGateway } from '../helpers/gateway';
import { requireCurrentBuild } from '../helpers/dist';
import { fixtureStdio, startFixtureHttp } from '../helpers/fixture-servers';
import { waitForNoProcesses } from '../helpers/processes';
import type { RemoteServer } from '../helpers/remote-servers';
import { waitFor } from '../helpers/wait';

jest.setTimeout(60_000);

let gw: TestGateway;
let http: RemoteServer;
const marker = newMarker();
const clients: Client[] = [];

/** A client whose elicitation handler records the message and answers with `answer()`. */
async function eliciting(asked: string[], answer: () => Promise<ElicitResult>): Promise<Client> {
  const client = await connectClient(gw, 'streamable-http', {
    capabilities: { elicitation: {} },
    setup: (c) =>
      c.setRequestHandler(ElicitRequestSchema, async (r) => {
        asked.push(r.params.message);
        return answer();
      }),
  });
  clients.push(client);
  return client;
}

function user(name: string): ElicitResult {
  return { action: 'accept', content: { username: name, email: `${name}@example.com` } };
}

function call(client: Client, server: string, message: string): Promise<string> {
  return client.callTool({ name: `${server}__test_elicitation`, arguments: { message } }).then(
    (r) => (r.content as { text: string }[]).map((c) => c.text).join('\n'),
    (err: Error) => `error: ${err.message}`,
  );
}

/** Alice's call is in flight, waiting for her answer, when Bob calls: what each is asked, and gets. */
async function aliceThenBob(server: string) {
  const alice: string[] = [];
  const bob: string[] = [];
  let release!: () => void;
  const held = new Promise<void>((r) => (release = r));
  const a = await eliciting(alice, () => held.then(() => user('alice')));
  const b = await eliciting(bob, async () => user('bob'));
  const aliceResult = call(a, server, 'for alice');
  await waitFor(() => alice.length === 1, "alice's question");
  const bobResult = await call(b, server, 'for bob');
  release();
  return { alice, bob, aliceResult: await aliceResult, bobResult };
}

beforeAll(async () => {
  requireCurrentBuild(['test/conformance']);
  http = await startFixtureHttp(marker);
  gw = await startTestGateway({ servers: { fh: { url: http.url, protocol: '2025-11-25' }, fs: fixtureStdio(marker, { protocol: '2025-11-25' }) } }, marker);
});

afterAll(async () => {
  for (const c of clients) await disconnect(c).catch(() => {});
  await gw?.stop();
  await http?.stop();
  expect(await waitForNoProcesses(marker)).toEqual([]);
});

it('routes each elicitation of a shared Streamable HTTP upstream to the client whose call it came on', async () => {
  const { alice, bob, aliceResult, bobResult } = await aliceThenBob('fh');
  expect([alice, bob]).toEqual([['for alice'], ['for bob']]);
  expect(bobResult).toBe('Elicitation completed: action=accept, content={"username":"bob","email":"bob@example.com"}');
  expect(aliceResult).toBe('Elicitation completed: action=accept, content={"username":"alice","email":"alice@example.com"}');
});

it('still refuses to guess over stdio, where the wire does not say which call a request is for', async () => {
  const { alice, bob, aliceResult, bobResult } = await aliceThenBob('fs');
  expect([alice, bob]).toEqual([['for alice'], []]);
  expect(bobResult).toContain('cannot tell which client it is for');
  expect(aliceResult).toContain('"username":"alice"');
});
