/**
 * Progress through the gateway: the client sees its own progress token (whatever it chose), the
 * upstream sees a gateway-wide token instead, two clients using the same token each get only their
 * own progress, and progress keeps a long call alive past the server's request timeout.
 */
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { CallToolResultSchema, type Progress } from '@modelcontextprotocol/sdk/types.js';
import { FRONTS } from '../helpers/gateway';
import { Inbox } from './support/inbox';
import { waitFor } from '../helpers/wait';
import { RelayFixture, tool, FRONT_PAIRS } from './support/fixture';
import { WireTap } from './support/wire-tap';

const LONG_OP = tool('trigger-long-running-operation');

function completed(duration: number, steps: number) {
  return [{ type: 'text', text: `Long running operation completed. Duration: ${duration} seconds, Steps: ${steps}.` }];
}

function progressSteps(token: string | number, steps: number) {
  return Array.from({ length: steps }, (_, i) => ({ progressToken: token, progress: i + 1, total: steps }));
}

describe.each(FRONTS)('progress over %s', (front) => {
  const fixture = new RelayFixture();
  const tap = new WireTap();
  const inbox = new Inbox();
  let client: Client;

  beforeAll(async () => {
    await fixture.start({ tap });
    client = await fixture.connect(front, { inbox });
  });

  afterAll(async () => {
    expect(await fixture.stop()).toEqual([]);
  });

  it('reaches the client in order, before the result, carrying the token the client sent', async () => {
    const seen: Progress[] = [];
    // The SDK client handles a notification a microtask after it arrives but a response at once, so
    // progress that arrives together with the result reaches onerror ("unknown token"), not onprogress.
    const late: Progress[] = [];
    client.onerror = (err) => {
      const m = /progress notification for an unknown token: (.*)$/.exec(err.message);
      if (m) late.push(JSON.parse(m[1]).params);
    };
    const result = await client.callTool({ name: LONG_OP, arguments: { duration: 0.3, steps: 3 } }, undefined, {
      onprogress: (p) => seen.push(p),
      timeout: 30_000,
    });
    expect(result.content).toEqual(completed(0.3, 3));

    // The SDK uses the request id as token: the raw notifications carry exactly that id, all before the result.
    const responseAt = inbox.messages.findIndex((m) => m.result?.content?.[0]?.text === completed(0.3, 3)[0].text);
    const id = inbox.messages[responseAt].id;
    const progress = inbox.messages.filter((m) => m.method === 'notifications/progress' && m.params.progressToken === id);
    expect(progress.map((m) => m.params)).toEqual(progressSteps(id, 3));
    expect(inbox.messages.indexOf(progress[2])).toBeLessThan(responseAt);
    await waitFor(() => seen.length + late.length === 3, 'every progress notification to be handled');
    expect([...seen, ...late]).toEqual(progressSteps(id, 3).map(({ progress, total }) => expect.objectContaining({ progress, total })));
    expect(seen).toEqual(
      progressSteps(id, 3)
        .slice(0, seen.length)
        .map(({ progress, total }) => ({ progress, total })),
    );
  });

  it.each([['a string', `token-of-${front}`] as const, ['a number', 4242] as const])(
    'maps a client token that is %s to a gateway token upstream and back',
    async (_kind, token) => {
      const steps = typeof token === 'number' ? 4 : 5; // tells the two calls apart on the wire
      const result = await client.request(
        { method: 'tools/call', params: { name: LONG_OP, arguments: { duration: 0.2, steps }, _meta: { progressToken: token } } },
        CallToolResultSchema,
        { timeout: 30_000 },
      );
      expect(result.content).toEqual(completed(0.2, steps));
      expect(inbox.notifications('notifications/progress').filter((p) => p.progressToken === token)).toEqual(progressSteps(token, steps));

      const wire = tap.records(fixture.gatewayPid(client));
      const call = wire.find((r) => r.way === 'in' && r.message.method === 'tools/call' && r.message.params.arguments.steps === steps);
      const upstreamToken = call!.message.params._meta.progressToken;
      expect(upstreamToken).toMatch(/^fleet-progress-\d+$/);
      const upstreamProgress = wire.filter(
        (r) => r.way === 'out' && r.message.method === 'notifications/progress' && r.message.params.progressToken === upstreamToken,
      );
      expect(upstreamProgress.map((r) => r.message.params)).toEqual(progressSteps(upstreamToken, steps));
    },
  );
});

describe.each(FRONT_PAIRS)('two clients (%s and %s) on one shared server using the same progress token', (frontA, frontB) => {
  const fixture = new RelayFixture();
  const inboxA = new Inbox();
  const inboxB = new Inbox();
  let a: Client;
  let b: Client;

  beforeAll(async () => {
    await fixture.start();
    a = await fixture.connect(frontA, { inbox: inboxA });
    b = await fixture.connect(frontB, { inbox: inboxB });
  });

  afterAll(async () => {
    expect(await fixture.stop()).toEqual([]);
  });

  it('each get only the progress of their own call', async () => {
    const call = (client: Client, steps: number) =>
      client.request(
        { method: 'tools/call', params: { name: LONG_OP, arguments: { duration: steps * 0.1, steps }, _meta: { progressToken: 'same' } } },
        CallToolResultSchema,
        {
          timeout: 30_000,
        },
      );
    const [ra, rb] = await Promise.all([call(a, 2), call(b, 4)]);
    expect(ra.content).toEqual(completed(0.2, 2));
    expect(rb.content).toEqual(completed(0.4, 4));
    expect(inboxA.notifications('notifications/progress')).toEqual(progressSteps('same', 2));
    expect(inboxB.notifications('notifications/progress')).toEqual(progressSteps('same', 4));
    expect(fixture.gw!.progress.size).toBe(0);
  });
});

describe('progress and the request timeout', () => {
  const fixture = new RelayFixture();
  const inbox = new Inbox();
  let client: Client;

  beforeAll(async () => {
    await fixture.start({ server: { requestTimeoutMs: 1500 } });
    client = await fixture.connect('websocket', { inbox });
  });

  afterAll(async () => {
    expect(await fixture.stop()).toEqual([]);
  });

  it('keeps a call alive past requestTimeoutMs while the server reports progress', async () => {
    // 15 steps of 0.2 s: 3 s in all, each progress well inside the 1.5 s timeout
    const result = await client.request(
      { method: 'tools/call', params: { name: LONG_OP, arguments: { duration: 3, steps: 15 }, _meta: { progressToken: 'keep-alive' } } },
      CallToolResultSchema,
      { timeout: 30_000 },
    );
    expect(result.content).toEqual(completed(3, 15));
    expect(inbox.notifications('notifications/progress')).toEqual(progressSteps('keep-alive', 15));
  });

  it('times the same call out when it asked for no progress', async () => {
    await expect(client.callTool({ name: LONG_OP, arguments: { duration: 3, steps: 15 } }, undefined, { timeout: 30_000 })).rejects.toThrow(
      'server "everything" did not answer tools/call within 1500 ms',
    );
    // the session is fine afterwards
    expect((await client.callTool({ name: tool('echo'), arguments: { message: 'still here' } })).content).toEqual([{ type: 'text', text: 'Echo: still here' }]);
  });
});
