/**
 * 2025 sessions shared by gateway replicas through a real Redis (`store.redis`): a session opened
 * on one replica is resumed on another from its record; the record is keyed by a hash of the id
 * (the id itself is not in Redis); DELETE removes it; a Redis that goes away breaks only what needs
 * it (resuming answers 503), never the sessions a replica holds.
 */
import { execFileSync } from 'node:child_process';
import { newMarker, startTestGateway, type TestGateway } from '../helpers/gateway';
import { waitForNoProcesses } from '../helpers/processes';
import { postRaw, rawSession } from '../helpers/raw-http';
import { ensureLoadBalancerTools, startRedis, type Redis } from '../helpers/redis';
import { scripted } from '../helpers/scripted';
import { waitFor } from '../helpers/wait';

describe('sessions shared by replicas', () => {
  const marker = newMarker();
  let redis: Redis;
  let a: TestGateway;
  let b: TestGateway;
  const keys = () =>
    execFileSync('redis-cli', ['-p', String(redis.port), '--scan'], { encoding: 'utf8' })
      .split('\n')
      .filter(Boolean);

  beforeAll(async () => {
    ensureLoadBalancerTools();
    redis = await startRedis();
    const doc = { store: { redis: { url: redis.url, keyPrefix: 'test:', timeoutMs: 500 } }, servers: { s: scripted(marker, ['--tools', 'echo']) } };
    a = await startTestGateway(doc, marker);
    b = await startTestGateway(doc, marker);
    await waitFor(() => [a, b].every((g) => g.logs.some((l) => l.msg === 'shared store (Redis) connected')), 'both replicas connected to Redis', 10_000);
  });

  afterAll(async () => {
    await a?.stop();
    await b?.stop();
    await redis?.stop();
    expect(await waitForNoProcesses(marker)).toEqual([]);
  });

  it('resumes on one replica a session another opened, and keeps its id out of Redis', async () => {
    const session = await rawSession(`${a.url}/mcp`);
    // written before initialize was answered: the client may take the id to another replica at once
    expect(keys()).toHaveLength(1);
    expect(keys()[0]).toMatch(/^test:session:[A-Za-z0-9_-]{43}$/);
    expect(keys()[0]).not.toContain(session.sessionId);

    const onB = await postRaw(
      `${b.url}/mcp`,
      JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 's__echo', arguments: {} } }),
      session.headers,
    );
    expect(onB.status).toBe(200);
    expect(onB.headers.get('mcp-session-id')).toBe(session.sessionId);
    expect(onB.messages[0].result.content[0].text).toBe('scripted:echo');
    expect(b.logs.find((l) => l.msg === 'client session resumed from the shared store')).toMatchObject({ protocolVersion: '2025-11-25' });

    // ended by its client: the record goes, and no replica that does not hold it can take it up
    expect((await fetch(`${b.url}/mcp`, { method: 'DELETE', headers: session.headers })).status).toBe(200);
    await waitFor(() => keys().length === 0, 'the record removed', 5_000);
    const c = await startTestGateway(
      { store: { redis: { url: redis.url, keyPrefix: 'test:' } }, servers: { s: scripted(marker, ['--tools', 'echo']) } },
      marker,
    );
    try {
      await waitFor(() => c.logs.some((l) => l.msg === 'shared store (Redis) connected'), 'the third replica connected', 10_000);
      const after = await postRaw(`${c.url}/mcp`, JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'ping' }), session.headers);
      expect(after.status).toBe(404);
    } finally {
      await c.stop();
    }
    await session.close();
  });

  it('keeps serving its own sessions when Redis is gone, and answers 503 for one it would have to resume', async () => {
    const held = await rawSession(`${a.url}/mcp`);
    await waitFor(() => keys().length === 1, 'the session record written', 5_000);
    await redis.stop();

    expect((await held.call('tools/call', { name: 's__echo', arguments: {} })).result.content[0].text).toBe('scripted:echo');
    const fresh = await rawSession(`${a.url}/mcp`); // its record cannot be written: logged, the session works here
    expect((await fresh.call('ping')).result).toEqual({});
    await waitFor(() => a.logs.some((l) => l.msg === 'cannot save a session record in the shared store'), 'the failed write logged', 5_000);

    const elsewhere = await postRaw(`${b.url}/mcp`, JSON.stringify({ jsonrpc: '2.0', id: 3, method: 'ping' }), held.headers);
    expect(elsewhere.status).toBe(503);
    expect(elsewhere.messages[0].error).toMatchObject({ data: { fleetCode: 'STORE_UNAVAILABLE' } });
    expect(elsewhere.messages[0].error.message).toMatch(/shared store \(Redis\) failed a read/);
    await held.close();
    await fresh.close();
  });
});
