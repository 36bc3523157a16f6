/**
 * Two clients on one shared server: a sampling request goes to the client whose call triggered
 * it and never to the other. Nothing on a stdio wire says which call a server request belongs to,
 * so while calls of both clients are in flight the gateway refuses the request (naming
 * per-session mode as the fix) rather than guess and show one user's prompt to another. Network
 * fronts only: each stdio client runs a gateway of its own.
 */
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { CreateMessageRequestSchema, type CreateMessageResult } from '@modelcontextprotocol/sdk/types.js';
import type { FrontKind } from '../helpers/gateway';
import { Inbox } from './support/inbox';
import { waitFor } from '../helpers/wait';
import { RelayFixture, tool, FRONT_PAIRS } from './support/fixture';
import { WireTap } from './support/wire-tap';

const SAMPLING_TOOL = tool('trigger-sampling-request');
const LONG_OP = tool('trigger-long-running-operation');

/** A sampling client whose answers name it, and which can hold an answer back until the test releases it. */
class SamplingClient {
  readonly inbox = new Inbox();
  readonly prompts: string[] = [];
  private held: (() => void) | undefined;
  private holdNext = false;
  client!: Client;

  constructor(readonly name: string) {}

  answer(prompt: string): CreateMessageResult {
    return { model: `model-of-${this.name}`, role: 'assistant', content: { type: 'text', text: `${this.name} answers: ${prompt}` } };
  }

  async connect(fixture: RelayFixture, front: FrontKind): Promise<void> {
    this.client = await fixture.connect(front, {
      inbox: this.inbox,
      capabilities: { sampling: {} },
      setup: (c) =>
        c.setRequestHandler(CreateMessageRequestSchema, async (request) => {
          const text = (request.params.messages[0].content as { text: string }).text;
          const prompt = text.replace('Resource trigger-sampling-request context: ', '');
          this.prompts.push(prompt);
          if (this.holdNext) {
            this.holdNext = false;
            await new Promise<void>((resolve) => (this.held = resolve));
          }
          return this.answer(prompt);
        }),
    });
  }

  /** The next sampling request this client gets waits for release(). */
  holdNextAnswer(): void {
    this.holdNext = true;
  }

  release(): void {
    this.held?.();
  }

  sample(prompt: string) {
    return this.client.callTool({ name: SAMPLING_TOOL, arguments: { prompt } }, undefined, { timeout: 30_000 });
  }
}

function sampledBy(result: Record<string, unknown>): unknown {
  return JSON.parse((result.content as { text: string }[])[0].text.slice('LLM sampling result: \n'.length));
}

describe.each(FRONT_PAIRS)('sampling with two clients (%s and %s) on one shared server', (frontA, frontB) => {
  const fixture = new RelayFixture();
  const tap = new WireTap();
  const a = new SamplingClient('alice');
  const b = new SamplingClient('bob');

  beforeAll(async () => {
    await fixture.start({ tap });
    await a.connect(fixture, frontA);
    await b.connect(fixture, frontB);
  });

  afterAll(async () => {
    expect(await fixture.stop()).toEqual([]);
  });

  it('asks only the client whose call triggered it, each in turn', async () => {
    expect(sampledBy(await a.sample('first from alice'))).toEqual(a.answer('first from alice'));
    expect(sampledBy(await b.sample('first from bob'))).toEqual(b.answer('first from bob'));
    expect(a.prompts).toEqual(['first from alice']);
    expect(b.prompts).toEqual(['first from bob']);
  });

  it('refuses, naming per-session mode, when the other client has a call running on the same server', async () => {
    // bob's call is running upstream (it reported progress) before alice calls
    let running!: () => void;
    const progressed = new Promise<void>((resolve) => (running = resolve));
    const long = b.client.callTool({ name: LONG_OP, arguments: { duration: 1, steps: 4 } }, undefined, { onprogress: () => running(), timeout: 30_000 });
    await progressed;
    const refused = await a.sample('alice while bob waits');
    expect(refused.isError).toBe(true);
    expect(JSON.stringify(refused.content)).toContain('mode: per-session');
    expect((await long).isError).toBeFalsy();
    expect(a.prompts).toEqual(['first from alice']);
    expect(b.prompts).toEqual(['first from bob']);
    // once bob's call is done, alice is asked again as usual
    expect(sampledBy(await a.sample('alice after bob'))).toEqual(a.answer('alice after bob'));
  });

  it('lets the first client answer while the second, asked at the same time, is refused', async () => {
    // alice is asked first and holds her answer; bob's call triggers a request of its own meanwhile
    a.holdNextAnswer();
    const fromA = a.sample('alice holds');
    await waitFor(() => a.prompts.includes('alice holds'), 'alice to be asked');
    const fromB = await b.sample('bob in between');
    expect(fromB.isError).toBe(true);
    expect(JSON.stringify(fromB.content)).toContain('mode: per-session');
    a.release();
    expect(sampledBy(await fromA)).toEqual(a.answer('alice holds'));
    expect(a.prompts).toEqual(['first from alice', 'alice after bob', 'alice holds']);
    expect(b.prompts).toEqual(['first from bob']);
  });

  it('never asks the other client, even when that client called in between the call and the request', async () => {
    // Hold the server's sampling request on the wire until bob's call has reached the server too:
    // when the gateway sees the request, both clients have a call in flight there. Nothing on a
    // stdio wire says which call a server request belongs to; the gateway must not guess the
    // other client (it may refuse). Two clients calling at the same moment produce this order
    // without any holding.
    const wire = () => tap.records(process.pid);
    tap.hold('sampling/createMessage');
    const fromA = a.sample('alice, held on the wire');
    await waitFor(() => wire().some((r) => r.way === 'held' && r.message.method === 'sampling/createMessage'), 'the sampling request to be held');
    const fromB = b.client.callTool({ name: tool('echo'), arguments: { message: 'bob in between' } });
    await waitFor(() => wire().some((r) => r.way === 'in' && r.message.params?.arguments?.message === 'bob in between'), 'bob’s call to reach the server');
    tap.release();
    const [resultA, resultB] = await Promise.all([fromA, fromB]);
    expect(resultB.content).toEqual([{ type: 'text', text: 'Echo: bob in between' }]);
    // bob's client must never see alice's prompt, nor alice's tool bob's answer
    expect(b.prompts).not.toContain('alice, held on the wire');
    expect(resultA.isError).toBe(true);
    expect(JSON.stringify(resultA.content)).toContain('mode: per-session');
    expect(JSON.stringify(resultA.content)).not.toContain('bob answers');
  });
});
