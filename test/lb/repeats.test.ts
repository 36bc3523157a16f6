/**
 * A call in flight on a gateway replica that dies, behind the real load balancers users get: the
 * balancer may send it again to the other replica only when running it twice is safe. Behind
 * haproxy (mcp-lb.cfg) a tool listed as safe to repeat runs again on the survivor and the client
 * gets its answer; any other tool fails with 502 and runs nowhere else. nginx
 * (load-balancer.conf, no `non_idempotent`) never sends a POST that reached a replica elsewhere.
 * Both eras: a 2025 session (resumed from Redis on the survivor) and 2026-07-28 stateless calls.
 * Each replica runs its own scripted server, whose `sleeping` stderr lines (in the replica's log)
 * tell where a call ran.
 */
import { connectGateway } from '../../gateway/client/connect';
import { connectModernGateway } from '../../gateway/client/connect-modern';
import { newMarker } from '../helpers/gateway';
import { startHaproxy, startNginxLb, type LoadBalancer } from '../helpers/load-balancers';
import { startReplicaSet, type Replica, type ReplicaSet } from '../helpers/gateway-replicas';
import { waitForNoProcesses } from '../helpers/processes';
import { scripted, sleepsStarted } from '../helpers/scripted';
import { testSecret } from '../helpers/secret-values';
import { waitFor } from '../helpers/wait';

jest.setTimeout(90_000);

const KEY = testSecret('repeat-test-key-0123456789abcdefghijklmnopqrstuv');
const HEADERS = { authorization: `Bearer ${KEY}` };
const SLEEP_MS = 1_500;
/**
 * A call the balancer did not repeat: 502, or, for a request on a kept-alive client connection,
 * haproxy closes that connection without an answer (as the replica did) and fetch fails.
 */
const NOT_ANSWERED = /502|fetch failed/;
const text = (r: unknown) => (r as { content: { text: string }[] }).content[0].text;

interface Caller {
  callTool(p: { name: string; arguments: Record<string, unknown> }): Promise<unknown>;
  close(): Promise<void>;
}

describe.each([
  ['haproxy', (ports: number[]) => startHaproxy(ports, { idempotentTools: ['who__sleep'] }), true],
  ['nginx', (ports: number[]) => startNginxLb(ports), false],
] as const)('a call in flight on a gateway replica that dies behind %s', (_name, startBalancer, repeatsSafeTools) => {
  const marker = newMarker();
  let set: ReplicaSet;
  let replicas: Replica[] = [];
  let lb: LoadBalancer;

  const doc = (redisUrl: string) => ({
    auth: { apiKeys: { keys: [{ name: 'agent', key: KEY }] } },
    store: { redis: { url: redisUrl } },
    stateless: { stateKeys: [{ id: 'k1', secret: testSecret('repeat-replicas-share-this-state-key-01234') }] },
    servers: { who: { ...scripted(marker, ['--name', 'who', '--tools', 'env,sleep,sleep_write']), env: { REPLICA: '${REPLICA}' } } },
  });

  const sleeps = () => replicas.map((r) => sleepsStarted(r.logs, 'who'));

  /**
   * Until the balancer sends both eras' calls to both replicas again: its health checks (haproxy)
   * or its fail_timeout (nginx, per upstream block: sessions have their own) let the restarted one back.
   */
  async function bothServing(): Promise<void> {
    const modern = await connectModernGateway(lb.url, { headers: HEADERS });
    const env = { name: 'who__env', arguments: { name: 'REPLICA' } };
    const sessionCall = async () => {
      const c = await connectGateway(lb.url, 'streamable-http', { headers: HEADERS });
      try {
        return text(await c.client.callTool(env));
      } finally {
        await c.close().catch(() => {}); // its replica may be the one not back yet
      }
    };
    // one era at a time: haproxy's round-robin would else send each era's requests to one replica in turn
    const reachBoth = async (era: string, answerer: () => Promise<string>) => {
      const seen = new Set<string>();
      const answered = async () => seen.add(await answerer()).has('gateway-1') && seen.has('gateway-2');
      await waitFor(answered, `${era} to reach both replicas`, 20_000, 50);
    };
    try {
      await reachBoth('stateless calls', async () => text(await modern.client.callTool(env)));
      await reachBoth('sessions', () => sessionCall().catch((err: Error) => `refused: ${err.message}`));
    } finally {
      await modern.close();
    }
  }

  /**
   * Starts `tool` through `caller`, kills the replica it runs on once it has started there, and
   * returns how the call ended and how many times it started on the other replica meanwhile. The
   * killed replica is started again (same name and port).
   */
  async function killWhileRunning(caller: Caller, tool: string) {
    const before = sleeps();
    const call = caller.callTool({ name: tool, arguments: { ms: SLEEP_MS } }).then(
      (r) => ({ answer: text(r) }),
      (err: Error) => ({ error: err.message }),
    );
    const holder = await waitFor(() => replicas.find((_r, i) => sleeps()[i] > before[i]), `${tool} to start on a replica`);
    holder.child.kill('SIGKILL');
    await new Promise((r) => holder.child.once('exit', r));
    const outcome = await call;
    const started = sleeps().map((n, i) => n - before[i]);
    const survivor = replicas.indexOf(replicas.find((r) => r !== holder)!);
    await set.restart(holder);
    return { outcome, onSurvivor: started[survivor] };
  }

  beforeAll(async () => {
    set = await startReplicaSet(doc, marker, startBalancer);
    ({ replicas, lb } = set);
  });

  afterAll(async () => {
    await set?.stop();
    expect(await waitForNoProcesses(marker)).toEqual([]);
  });

  const eras: [string, () => Promise<Caller>][] = [
    [
      '2025-11-25 session',
      async () => {
        const c = await connectGateway(lb.url, 'streamable-http', { headers: HEADERS });
        return { callTool: (p) => c.client.callTool(p), close: () => c.close() };
      },
    ],
    [
      '2026-07-28 stateless client',
      async () => {
        const c = await connectModernGateway(lb.url, { headers: HEADERS });
        return { callTool: (p) => c.client.callTool(p), close: () => c.close() };
      },
    ],
  ];

  describe.each(eras)('%s', (_era, connect) => {
    let caller: Caller;
    beforeEach(async () => {
      await bothServing();
      caller = await connect();
    });
    afterEach(() => caller.close());

    it('does not run a tool that is not safe to repeat again on the other replica: the call fails', async () => {
      const { outcome, onSurvivor } = await killWhileRunning(caller, 'who__sleep_write');
      expect(outcome).toEqual({ error: expect.stringMatching(NOT_ANSWERED) });
      expect(onSurvivor).toBe(0);
    });

    it(
      repeatsSafeTools
        ? 'runs a tool listed as safe to repeat again on the other replica and answers the call'
        : 'does not repeat even a tool that is safe to repeat (nginx cannot tell): the call fails',
      async () => {
        const { outcome, onSurvivor } = await killWhileRunning(caller, 'who__sleep');
        if (repeatsSafeTools) {
          expect(outcome).toEqual({ answer: `slept ${SLEEP_MS}` });
          expect(onSurvivor).toBe(1);
        } else {
          expect(outcome).toEqual({ error: expect.stringMatching(NOT_ANSWERED) });
          expect(onSurvivor).toBe(0);
        }
      },
    );
  });
});
