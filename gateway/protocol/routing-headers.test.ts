import { META } from './eras';
import { routingHeaders } from './routing-headers';

describe('routing headers of an upstream request', () => {
  it('sets the version, the method and the name from an enveloped body, and nothing for a 2025 one', () => {
    const meta = { [META.protocolVersion]: '2026-07-28' };
    expect(routingHeaders({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'caf\u00e9', _meta: meta } })).toEqual({
      'mcp-protocol-version': '2026-07-28',
      'mcp-method': 'tools/call',
      'mcp-name': `=?base64?${Buffer.from('caf\u00e9').toString('base64')}?=`,
    });
    expect(routingHeaders({ jsonrpc: '2.0', id: 2, method: 'tools/list', params: { _meta: meta } })).toEqual({
      'mcp-protocol-version': '2026-07-28',
      'mcp-method': 'tools/list',
    });
    expect(routingHeaders({ jsonrpc: '2.0', id: 3, method: 'tools/call', params: { name: 'x' } })).toBeUndefined();
  });
});
