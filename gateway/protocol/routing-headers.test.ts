import { META } from './eras';
import { decodeHeaderValue, encodeHeaderValue, routingHeaders } from './routing-headers';

describe('header values of 2026-07-28 requests', () => {
  it('decodes the Base64 sentinel and takes anything else literally', () => {
    expect(decodeHeaderValue('=?base64?SGVsbG8=?=')).toBe('Hello');
    expect(decodeHeaderValue(`=?base64?${Buffer.from('caf\u00e9 \u20ac').toString('base64')}?=`)).toBe('caf\u00e9 \u20ac');
    expect(decodeHeaderValue('SGVsbG8=')).toBe('SGVsbG8=');
    expect(decodeHeaderValue('=?base64?SGVsbG8=')).toBe('=?base64?SGVsbG8=');
  });

  it('refuses a sentinel that is not valid Base64', () => {
    for (const bad of ['=?base64?SGVsbG8?=', '=?base64?SGVs!!!bG8=?='])
      expect(() => decodeHeaderValue(bad)).toThrow(expect.objectContaining({ code: 'HEADER_MISMATCH' }));
  });
});

describe('routing headers of an upstream request', () => {
  it('encodes what is not plain header-safe ASCII, and the sentinel itself, so that decoding gives it back', () => {
    for (const value of ['get_weather', 'file:///a b.txt', ' padded ', 'caf\u00e9', 'line1\nline2', '=?base64?literal?='])
      expect(decodeHeaderValue(encodeHeaderValue(value))).toBe(value);
    expect(encodeHeaderValue('get_weather')).toBe('get_weather');
    expect(encodeHeaderValue(' padded ')).toBe(`=?base64?${Buffer.from(' padded ').toString('base64')}?=`);
  });

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
