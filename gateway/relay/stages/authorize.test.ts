/**
 * The authorization stage: once the call is routed, the policy decides for the call's principal.
 * A denied call never reaches the server, is refused with FORBIDDEN (-32003) naming the rule and
 * logged with principal and rule; an allow rule that needs scopes the principal lacks is refused
 * as insufficient scope, naming them; whatever no rule speaks of takes the default.
 */
import { memoryGateway, type MemoryGateway } from '../../../test/helpers/memory-gateway';
import { callText, reachedServer, rejection } from '../../../test/helpers/memory-servers';

describe('the authorization stage', () => {
  let gw: MemoryGateway | undefined;
  const reached: string[] = [];

  beforeAll(async () => {
    gw = await memoryGateway(
      { a: {} },
      { a: () => reachedServer(['read', 'write', 'scoped'], reached) },
      {
        policy: {
          rules: [
            { name: 'no-writes', effect: 'deny', tools: ['write'] },
            { name: 'scoped-needs-admin', effect: 'allow', tools: ['scoped'], requireScopes: ['admin'] },
          ],
        },
      },
    );
  });

  afterAll(async () => {
    await gw?.stop();
  });

  it('refuses a denied tool naming the rule, logs it, and the server never sees the call', async () => {
    const client = await gw!.connect();
    const err = await rejection(client.callTool({ name: 'a__write', arguments: {} }));
    expect(err.code).toBe(-32003);
    expect(err.message).toBe('MCP error -32003: tool "write" of server "a" is not allowed for anonymous:anonymous (policy rule "no-writes")');
    expect(err.data).toMatchObject({ rule: 'no-writes' });
    expect(gw!.logs.find((l) => l.msg === 'policy refused a request')).toMatchObject({
      principal: 'anonymous:anonymous',
      rule: 'no-writes',
      server: 'a',
      tool: 'write',
    });
    expect(reached).not.toContain('write');
  });

  it('refuses an allowed tool whose rule needs a scope the principal lacks, naming the scope', async () => {
    const client = await gw!.connect();
    const err = await rejection(client.callTool({ name: 'a__scoped', arguments: {} }));
    expect(err.code).toBe(-32003);
    expect(err.message).toContain('admin');
    expect(reached).not.toContain('scoped');
  });

  it('lets through what no rule speaks of (the default is allow)', async () => {
    const client = await gw!.connect();
    expect(await callText(client, 'a__read')).toBe('read done');
    expect(reached).toEqual(['read']);
  });
});
