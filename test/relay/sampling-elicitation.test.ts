/**
 * Sampling and elicitation: the server's request reaches the client that made the call, exactly as
 * the server sent it, and the client's answer (or error) reaches the server, which puts it in the
 * tool's result. Shared servers are offered sampling and elicitation by the gateway; per-session
 * servers see the client's own capabilities.
 */
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { CreateMessageRequestSchema, ElicitRequestSchema, type CreateMessageResult, type ElicitResult } from '@modelcontextprotocol/sdk/types.js';
import { FRONTS } from '../helpers/gateway';
import { Inbox } from './support/inbox';
import { RelayFixture, tool } from './support/fixture';
import { WireTap } from './support/wire-tap';

const SAMPLING_TOOL = tool('trigger-sampling-request');
const ELICITATION_TOOL = tool('trigger-elicitation-request');

/** What server-everything's sampling tool sends for `prompt`. */
function samplingParams(prompt: string, maxTokens: number) {
  return {
    messages: [{ role: 'user', content: { type: 'text', text: `Resource trigger-sampling-request context: ${prompt}` } }],
    systemPrompt: 'You are a helpful test server.',
    maxTokens,
    temperature: 0.7,
  };
}

/** The sampling result server-everything echoes in its tool result. */
function sampledBy(result: Record<string, unknown>): unknown {
  const text = (result.content as { text: string }[])[0].text;
  expect(text.startsWith('LLM sampling result: \n')).toBe(true);
  return JSON.parse(text.slice('LLM sampling result: \n'.length));
}

function textOf(result: Record<string, unknown>): string[] {
  return (result.content as { text: string }[]).map((c) => c.text);
}

/** A client that answers sampling and elicitation with whatever the test puts in `answers`. */
function answeringClient(answers: { sampling: () => CreateMessageResult; elicitation: () => ElicitResult }) {
  return (client: Client) => {
    client.setRequestHandler(CreateMessageRequestSchema, async () => answers.sampling());
    client.setRequestHandler(ElicitRequestSchema, async () => answers.elicitation());
  };
}

describe.each(FRONTS)('sampling and elicitation over %s, shared server', (front) => {
  const fixture = new RelayFixture();
  const tap = new WireTap();
  const inbox = new Inbox();
  const answers = {
    sampling: (): CreateMessageResult => ({
      model: 'relay-test-model',
      role: 'assistant',
      content: { type: 'text', text: `four, via ${front}` },
      stopReason: 'endTurn',
    }),
    elicitation: (): ElicitResult => ({ action: 'decline' }),
  };
  let client: Client;

  beforeAll(async () => {
    await fixture.start({ tap });
    client = await fixture.connect(front, { inbox, capabilities: { sampling: {}, elicitation: {} }, setup: answeringClient(answers) });
  });

  afterAll(async () => {
    expect(await fixture.stop()).toEqual([]);
  });

  it('offers the shared server sampling (with tools) and elicitation (form and URL), never roots', () => {
    const init = tap.records(fixture.gatewayPid(client)).find((r) => r.way === 'in' && r.message.method === 'initialize')!;
    expect(init.message.params.capabilities).toEqual({ sampling: { tools: {} }, elicitation: { form: {}, url: {} } });
  });

  it('carries a sampling request to the client and its answer back to the server', async () => {
    const result = await client.callTool({ name: SAMPLING_TOOL, arguments: { prompt: 'What is 2+2?', maxTokens: 17 } }, undefined, { timeout: 30_000 });
    expect(sampledBy(result)).toEqual(answers.sampling());

    // the client got the server's request as the server wrote it...
    const asked = inbox.requests('sampling/createMessage');
    expect(asked.map((r) => r.params)).toEqual([samplingParams('What is 2+2?', 17)]);
    // ...and the server got the client's answer under its own request id
    const wire = tap.records(fixture.gatewayPid(client));
    const upstreamRequest = wire.find((r) => r.way === 'out' && r.message.method === 'sampling/createMessage')!;
    const upstreamAnswer = wire.find((r) => r.way === 'in' && r.message.id === upstreamRequest.message.id && r.message.method === undefined)!;
    expect(upstreamAnswer.message.result).toEqual(answers.sampling());
  });

  it('carries an accepted elicitation and its content to the server', async () => {
    answers.elicitation = () => ({ action: 'accept', content: { name: 'Ada Lovelace', check: true, email: 'ada@example.com', integer: 7 } });
    const result = await client.callTool({ name: ELICITATION_TOOL, arguments: {} }, undefined, { timeout: 30_000 });
    const text = textOf(result);
    expect(text[0]).toBe('✅ User provided the requested information!');
    expect(text[1]).toBe('User inputs:\n- Name: Ada Lovelace\n- Agreed to terms: true\n- Email: ada@example.com\n- Favorite Integer: 7');
    const [asked] = inbox.requests('elicitation/create');
    expect(asked.params.message).toBe('Please provide inputs for the following fields:');
    expect(asked.params.requestedSchema.required).toEqual(['name']);
  });

  it('carries a declined elicitation to the server', async () => {
    answers.elicitation = () => ({ action: 'decline' });
    const result = await client.callTool({ name: ELICITATION_TOOL, arguments: {} }, undefined, { timeout: 30_000 });
    expect(textOf(result)[0]).toBe('❌ User declined to provide the requested information.');
  });

  it('carries the client’s error back to the server, which reports it in the tool result', async () => {
    answers.sampling = () => {
      throw new Error(`no model available on ${front}`);
    };
    const result = await client.callTool({ name: SAMPLING_TOOL, arguments: { prompt: 'anyone?' } }, undefined, { timeout: 30_000 });
    expect(result.isError).toBe(true);
    expect(textOf(result).join('\n')).toContain(`no model available on ${front}`);
    // and the session goes on
    expect((await client.callTool({ name: tool('echo'), arguments: { message: 'ok' } })).content).toEqual([{ type: 'text', text: 'Echo: ok' }]);
  });
});

describe('a shared server asking a client that did not declare sampling', () => {
  const fixture = new RelayFixture();
  let client: Client;

  beforeAll(async () => {
    await fixture.start();
    client = await fixture.connect('websocket', { capabilities: {} });
  });

  afterAll(async () => {
    expect(await fixture.stop()).toEqual([]);
  });

  it('gets an error naming the missing capability, which the tool reports', async () => {
    const result = await client.callTool({ name: SAMPLING_TOOL, arguments: { prompt: 'hello' } }, undefined, { timeout: 30_000 });
    expect(result.isError).toBe(true);
    expect(textOf(result).join('\n')).toContain('the client does not support sampling (it did not declare the capability)');
  });
});

describe.each(FRONTS)('sampling and elicitation over %s, per-session server', (front) => {
  const fixture = new RelayFixture();
  const tap = new WireTap();
  const inbox = new Inbox();
  const answer: CreateMessageResult = { model: 'own-model', role: 'assistant', content: { type: 'text', text: `per-session answer via ${front}` } };
  let client: Client;

  beforeAll(async () => {
    await fixture.start({ mode: 'per-session', tap });
    client = await fixture.connect(front, {
      inbox,
      capabilities: { sampling: {} },
      setup: (c) => c.setRequestHandler(CreateMessageRequestSchema, async () => answer),
    });
  });

  afterAll(async () => {
    expect(await fixture.stop()).toEqual([]);
  });

  it('initializes the upstream with the client’s own capabilities, so it offers only what the client can do', async () => {
    const init = tap.records(fixture.gatewayPid(client)).find((r) => r.way === 'in' && r.message.method === 'initialize')!;
    expect(init.message.params.capabilities).toEqual({ sampling: {} });
    expect(init.message.params.clientInfo).toEqual({ name: `test-${front}`, version: '1.0.0' });
    const names = (await client.listTools()).tools.map((t) => t.name);
    expect(names).toContain(SAMPLING_TOOL);
    expect(names).not.toContain(ELICITATION_TOOL);
    expect(names).not.toContain(tool('get-roots-list'));
  });

  it('carries a sampling request to its client and the answer back', async () => {
    const result = await client.callTool({ name: SAMPLING_TOOL, arguments: { prompt: 'Who are you?', maxTokens: 5 } }, undefined, { timeout: 30_000 });
    expect(sampledBy(result)).toEqual(answer);
    expect(inbox.requests('sampling/createMessage').map((r) => r.params)).toEqual([samplingParams('Who are you?', 5)]);
  });
});

describe.each(FRONTS)('elicitation over %s, per-session server', (front) => {
  const fixture = new RelayFixture();
  let client: Client;

  beforeAll(async () => {
    await fixture.start({ mode: 'per-session' });
    client = await fixture.connect(front, {
      capabilities: { elicitation: {} },
      setup: (c) => c.setRequestHandler(ElicitRequestSchema, async () => ({ action: 'accept', content: { name: `Grace via ${front}` } })),
    });
  });

  afterAll(async () => {
    expect(await fixture.stop()).toEqual([]);
  });

  it('carries an elicitation to its client and the content back', async () => {
    const names = (await client.listTools()).tools.map((t) => t.name);
    expect(names).toContain(ELICITATION_TOOL);
    expect(names).not.toContain(SAMPLING_TOOL);
    const result = await client.callTool({ name: ELICITATION_TOOL, arguments: {} }, undefined, { timeout: 30_000 });
    expect(textOf(result).slice(0, 2)).toEqual(['✅ User provided the requested information!', `User inputs:\n- Name: Grace via ${front}`]);
  });
});
