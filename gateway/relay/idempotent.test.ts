import { EMPTY_CATALOG } from '../servers/lists';
import { isIdempotent } from './idempotent';

const catalog = {
  ...EMPTY_CATALOG,
  tools: [
    { name: 'lookup', annotations: { readOnlyHint: true } },
    { name: 'put', annotations: { idempotentHint: true } },
    { name: 'send_mail', annotations: { readOnlyHint: false, destructiveHint: true } },
    { name: 'plain' },
  ],
};
const facts = (method: string, tool?: string, idempotentTools: string[] = []) => ({ method, tool, catalog, idempotentTools });

describe('which forwarded requests are safe to repeat', () => {
  it('takes reads, gets, lists, ping and completions as safe', () => {
    for (const method of ['ping', 'resources/read', 'prompts/get', 'completion/complete', 'tools/list', 'resources/templates/list'])
      expect([method, isIdempotent(facts(method))]).toEqual([method, true]);
    expect(isIdempotent(facts('resources/subscribe'))).toBe(false);
  });

  it('takes a tool call as safe only when the server annotates it or the config names it', () => {
    expect(['lookup', 'put', 'send_mail', 'plain', 'unknown'].map((t) => isIdempotent(facts('tools/call', t)))).toEqual([true, true, false, false, false]);
    expect(isIdempotent(facts('tools/call', 'plain', ['plain']))).toBe(true);
  });
});
