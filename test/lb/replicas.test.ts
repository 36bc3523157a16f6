/**
 * Gateway replicas behind the real load balancers users get (haproxy/mcp-lb.cfg and
 * nginx/load-balancer.conf, Debian's haproxy and nginx), sharing 2025 sessions through a real
 * Redis: official SDK clients of both eras go through each balancer; a 2025 session survives the
 * loss of the replica that holds it (the next request lands on the other replica, which resumes
 * the session from the store); 2026-07-28 requests spread over the replicas. Each replica's
 * upstream tells which replica answered (its REPLICA variable).
 */
import type { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { connectGateway, type GatewayConnection } from '../../gateway/client/connect';
import { connectModernGateway } from '../../gateway/client/connect-modern';
import { newMarker } from '../helpers/gateway';
import { startHaproxy, startNginxLb, type LoadBalancer } from '../helpers/load-balancers';
import { startReplicaSet, type Replica, type ReplicaSet } from '../helpers/gateway-replicas';
import { waitForNoProcesses } from '../helpers/processes';
import { postRaw } from '../helpers/raw-http';
import { scripted } from '../helpers/scripted';
import { waitFor } from '../helpers/wait';
import { testSecret } from '../helpers/secret-values';

const KEY = testSecret('replica-test-key-0123456789abcdefghijklmnopqrstu');
const OTHER_KEY = testSecret('other-principal-key-0123456789abcdefghijklmnopq');
const HEADERS = { authorization: `Bearer ${KEY}` };
const text = (r: unknown) => (r as { content: { text: string }[] }).content[0].text;

// haproxy learns each session's replica from initialize's answer, so a session moves only when its
// replica is lost; nginx hashes the session id, so the survivor may have held the session already.
describe.each([
  ['haproxy', startHaproxy, true],
  ['nginx', startNginxLb, false],
] as const)('two gateway replicas behind %s', (_name, startBalancer, movesOnlyOnLoss) => {
  const marker = newMarker();
  let set: ReplicaSet;
  let replicas: Replica[] = [];
  let lb: LoadBalancer;
  const connections: { close(): Promise<void> }[] = [];

  const doc = (redisUrl: string) => ({
    auth: {
      apiKeys: {
        keys: [
          { name: 'agent', key: KEY },
          { name: 'other', key: OTHER_KEY },
        ],
      },
    },
    store: { redis: { url: redisUrl } },
    stateless: { stateKeys: [{ id: 'k1', secret: testSecret('replicas-share-this-state-key-0123456789') }] },
    servers: { who: { ...scripted(marker, ['--name', 'who', '--tools', 'env,echo']), env: { REPLICA: '${REPLICA}' } } },
  });

  const whoAnswers = async (
    c: Pick<GatewayConnection['client'], 'callTool'> | { callTool(p: { name: string; arguments: Record<string, unknown> }): Promise<unknown> },
  ) => text(await c.callTool({ name: 'who__env', arguments: { name: 'REPLICA' } }));

  beforeAll(async () => {
    set = await startReplicaSet(doc, marker, startBalancer);
    ({ replicas, lb } = set);
  });

  afterAll(async () => {
    await Promise.all(connections.map((c) => c.close().catch(() => {})));
    await set?.stop();
    expect(await waitForNoProcesses(marker)).toEqual([]);
  });

  it('keeps a 2025 session going on the other replica when the one holding it is killed', async () => {
    const conn = await connectGateway(lb.url, 'streamable-http', { headers: HEADERS });
    connections.push(conn);
    const first = await whoAnswers(conn.client);
    // the session stays on one replica while it is up (affinity, or after one move for nginx's hash)
    const settled = await whoAnswers(conn.client);
    expect(await whoAnswers(conn.client)).toBe(settled);
    expect(['gateway-1', 'gateway-2']).toContain(first);

    const holder = replicas.find((r) => r.name === settled)!;
    holder.child.kill('SIGKILL');
    await new Promise((r) => holder.child.once('exit', r));

    // the same session, answered by the survivor, which resumed it from Redis
    const survivor = replicas.find((r) => r !== holder)!;
    expect(await whoAnswers(conn.client)).toBe(survivor.name);
    expect(text(await conn.client.callTool({ name: 'who__echo', arguments: {} }))).toBe('who:echo');
    if (movesOnlyOnLoss) await survivor.waitForLog((l) => l.msg === 'client session resumed from the shared store', 'the resumed session');

    // the killed replica comes back on its port and serves again
    await set.restart(holder);
  });

  it('spreads 2026-07-28 requests over the replicas and answers each', async () => {
    const modern = await connectModernGateway(lb.url, { headers: HEADERS });
    connections.push(modern);
    const seen = new Set<string>();
    let calls = 0;
    // round-robin: both replicas answer once the balancer has the restarted one back (its health checks pass)
    await waitFor(
      async () => {
        seen.add(await whoAnswers(modern.client));
        calls++;
        return seen.size === 2;
      },
      'both replicas to answer stateless calls',
      20_000,
      50,
    );
    expect([...seen].sort()).toEqual(['gateway-1', 'gateway-2']);
    // and every call was answered (none failed while the balancer learnt the replica was back)
    expect(calls).toBeGreaterThanOrEqual(2);
  });

  it('refuses a session to another principal on every replica, the one holding it and the one that could resume it', async () => {
    const conn = await connectGateway(lb.url, 'streamable-http', { headers: HEADERS });
    connections.push(conn);
    await whoAnswers(conn.client);
    const sessionId = (conn.client.transport as StreamableHTTPClientTransport).sessionId!;
    const ping = (url: string, key: string) =>
      postRaw(`${url}/mcp`, JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' }), {
        'mcp-session-id': sessionId,
        'mcp-protocol-version': '2025-11-25',
        authorization: `Bearer ${key}`,
      });
    for (const r of replicas) expect((await ping(r.url, OTHER_KEY)).status).toBe(404);
    // and its own principal is served by either replica
    for (const r of replicas) expect((await ping(r.url, KEY)).status).toBe(200);
  });
});
