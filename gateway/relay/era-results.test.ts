/** Answers shaped for a 2025 client: what a 2026-07-28 server adds that the 2025 revisions do not define is left out, nothing else. */
import { META } from '../protocol/eras';
import { forLegacyClient } from './era-results';

it('leaves out resultType, caching hints and the _meta keys only 2026-07-28 defines, and keeps the rest (2025 reserved keys too)', () => {
  const modern = {
    jsonrpc: '2.0' as const,
    id: 1,
    result: {
      resultType: 'complete',
      ttlMs: 60_000,
      cacheScope: 'public',
      content: [],
      _meta: {
        [META.serverInfo]: { name: 's', version: '1' },
        [META.subscriptionId]: 3,
        'vendor/trace': 'x',
        'io.modelcontextprotocol/related-task': { taskId: 't1' },
      },
    },
  };
  expect(forLegacyClient(modern)).toEqual({
    jsonrpc: '2.0',
    id: 1,
    result: { content: [], _meta: { 'vendor/trace': 'x', 'io.modelcontextprotocol/related-task': { taskId: 't1' } } },
  });
  expect(forLegacyClient({ ...modern, result: { content: [], _meta: { [META.serverInfo]: {} } } })).toEqual({ jsonrpc: '2.0', id: 1, result: { content: [] } });
});

it('hands a 2025 answer on as it is', () => {
  const legacy = { jsonrpc: '2.0' as const, id: 2, result: { content: [], _meta: { 'vendor/trace': 'x' } } };
  expect(forLegacyClient(legacy)).toBe(legacy);
});
