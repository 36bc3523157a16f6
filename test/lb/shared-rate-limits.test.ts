/**
 * Rate limits shared by gateway replicas (`rateLimits.shared` over a real Redis): a principal's
 * burst is the fleet's, so what one replica let through counts on the other, and the refusal names
 * the rule with a Retry-After; without `shared`, each replica counts alone. When Redis goes away
 * each replica limits on its own (still refusing past the burst, never failing a call on the store).
 */
import { newMarker, startTestGateway, type TestGateway } from '../helpers/gateway';
import { waitForNoProcesses } from '../helpers/processes';
import { postRaw, rawSession } from '../helpers/raw-http';
import { ensureLoadBalancerTools, startRedis, type Redis } from '../helpers/redis';
import { scripted } from '../helpers/scripted';
import { testSecret } from '../helpers/secret-values';
import { waitFor } from '../helpers/wait';

const KEY = testSecret('shared-rate-limit-key-0123456789abcdef', 'API key of the shared rate-limit test');
const bearer = { authorization: `Bearer ${KEY}` };
const call = (id: number) => JSON.stringify({ jsonrpc: '2.0', id, method: 'tools/call', params: { name: 's__echo', arguments: {} } });

describe('rate limits shared by replicas', () => {
  const marker = newMarker();
  let redis: Redis;
  const gateways: TestGateway[] = [];

  const replicas = async (shared: boolean): Promise<TestGateway[]> => {
    const doc = {
      auth: { apiKeys: { keys: [{ name: 'agent', key: KEY }] } },
      store: { redis: { url: redis.url, keyPrefix: `rl-${shared}:`, timeoutMs: 500 } },
      // a burst of 4 for each principal, then one call every 1000 s: nothing refills during the test
      rateLimits: { shared, rules: [{ name: 'agent-burst', requestsPerSecond: 0.001, burst: 4 }] },
      servers: { s: scripted(marker, ['--tools', 'echo']) },
    };
    const pair = [await startTestGateway(doc, marker), await startTestGateway(doc, marker)];
    gateways.push(...pair);
    await waitFor(() => pair.every((g) => g.logs.some((l) => l.msg === 'shared store (Redis) connected')), 'both replicas connected to Redis', 10_000);
    return pair;
  };

  /** Calls alternately on each replica until `n` calls were made; the statuses in order. */
  const alternate = async (pair: TestGateway[], n: number): Promise<number[]> => {
    const sessions = await Promise.all(pair.map((g) => rawSession(`${g.url}/mcp`, bearer)));
    const statuses: number[] = [];
    for (let i = 0; i < n; i++) statuses.push((await postRaw(`${pair[i % 2].url}/mcp`, call(100 + i), sessions[i % 2].headers)).status);
    return statuses;
  };

  beforeAll(async () => {
    ensureLoadBalancerTools();
    redis = await startRedis();
  });

  afterAll(async () => {
    for (const g of gateways) await g.stop();
    await redis?.stop();
    expect(await waitForNoProcesses(marker)).toEqual([]);
  });

  it('counts one burst for both replicas with shared: true, and one per replica without', async () => {
    const shared = await replicas(true);
    expect(await alternate(shared, 6)).toEqual([200, 200, 200, 200, 429, 429]);
    const refused = await postRaw(`${shared[1].url}/mcp`, call(1), (await rawSession(`${shared[1].url}/mcp`, bearer)).headers);
    expect(refused.status).toBe(429);
    expect(refused.messages[0].error.data).toMatchObject({ fleetCode: 'RATE_LIMITED', limit: 'agent-burst' });
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);

    const own = await replicas(false);
    expect(await alternate(own, 10)).toEqual([200, 200, 200, 200, 200, 200, 200, 200, 429, 429]);
  });

  it('limits on each replica alone while Redis is away, and says so once', async () => {
    const pair = await replicas(true);
    await redis.stop();
    // each replica's own bucket: four each, never a failure on the store
    expect(await alternate(pair, 10)).toEqual([200, 200, 200, 200, 200, 200, 200, 200, 429, 429]);
    for (const g of pair) expect(g.logs.filter((l) => String(l.msg).startsWith('shared rate limits unavailable'))).toHaveLength(1);
  });
});
