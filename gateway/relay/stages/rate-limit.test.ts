/**
 * The rate-limit stage: a call matched by a `rateLimits` rule takes a token from its bucket; once
 * the bucket is empty the call is refused with RATE_LIMITED (the rule and the wait in its data),
 * counted by rule and server, and never reaches the server. Calls no rule matches are not limited,
 * and a call the policy refused (the stage before) costs no token.
 */
import { memoryGateway, type MemoryGateway } from '../../../test/helpers/memory-gateway';
import { callText, reachedServer, rejection } from '../../../test/helpers/memory-servers';

describe('the rate-limit stage', () => {
  let gw: MemoryGateway | undefined;
  const reached: string[] = [];

  beforeAll(async () => {
    gw = await memoryGateway(
      { a: {} },
      { a: () => reachedServer(['write', 'read', 'banned'], reached) },
      {
        policy: { rules: [{ name: 'no-banned', effect: 'deny', tools: ['banned'] }] },
        // a bucket of two that refills once in about 17 minutes: the third call finds it empty
        rateLimits: { rules: [{ name: 'writes', tools: ['write', 'banned'], requestsPerSecond: 0.001, burst: 2 }] },
      },
    );
  });

  afterAll(async () => {
    await gw?.stop();
  });

  it('refuses the call past the burst with the rule and the wait, counts it, and the server never sees it', async () => {
    const client = await gw!.connect();
    // a call the policy refuses takes no token of the bucket it would match
    expect((await rejection(client.callTool({ name: 'a__banned', arguments: {} }))).code).toBe(-32003);
    expect(await callText(client, 'a__write')).toBe('write done');
    expect(await callText(client, 'a__write')).toBe('write done');
    const err = await rejection(client.callTool({ name: 'a__write', arguments: {} }));
    expect(err.code).toBe(-32000);
    expect(err.message).toMatch(/^MCP error -32000: rate limit "writes" reached for tool "write" of server "a"; retry in \d+ ms$/);
    expect(err.data).toMatchObject({ limit: 'writes', retryAfterMs: expect.any(Number), fleetCode: 'RATE_LIMITED' });
    expect((err.data as { retryAfterMs: number }).retryAfterMs).toBeGreaterThan(0);
    expect((await gw!.core.metrics.scrape()).body).toContain('mcp_gateway_rate_limited_total{limit="writes",server="a"} 1');
    expect(reached).toEqual(['write', 'write']);
  });

  it('does not limit a call no rule matches', async () => {
    const client = await gw!.connect();
    for (let i = 0; i < 5; i++) expect(await callText(client, 'a__read')).toBe('read done');
  });
});
