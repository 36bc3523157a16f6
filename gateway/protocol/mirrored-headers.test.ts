import { decodeHeaderValue } from './modern-http';

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
