import { checkMirrored, decodeHeaderValue, encodeHeaderValue, mirroredHeaders, mirroredParams, type MirroredParam } from './mirrored-headers';

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

  it('encodes what is not header-safe as the spec table does, and the rest as it is', () => {
    expect(encodeHeaderValue('us-west1')).toBe('us-west1');
    expect(encodeHeaderValue('Hello, 世界')).toBe('=?base64?SGVsbG8sIOS4lueVjA==?=');
    expect(encodeHeaderValue(' padded ')).toBe('=?base64?IHBhZGRlZCA=?=');
    expect(encodeHeaderValue('line1\nline2')).toBe('=?base64?bGluZTEKbGluZTI=?=');
    expect(encodeHeaderValue('=?base64?literal?=')).toBe('=?base64?PT9iYXNlNjQ/bGl0ZXJhbD89?=');
    for (const v of ['us-west1', 'Hello, 世界', ' padded ', 'a\tb', '=?base64?literal?=']) expect(decodeHeaderValue(encodeHeaderValue(v))).toBe(v);
  });
});

describe('x-mcp-header annotations', () => {
  const schema = {
    type: 'object',
    properties: {
      region: { type: 'string', 'x-mcp-header': 'Region' },
      priority: { type: 'integer', 'x-mcp-header': 'Priority' },
      nested: { type: 'object', properties: { dry: { type: 'boolean', 'x-mcp-header': 'Dry-Run' } } },
      query: { type: 'string' },
    },
  };

  it('finds every annotated property reached through properties alone', () => {
    expect(mirroredParams(schema)).toEqual([
      { name: 'Region', header: 'mcp-param-region', path: ['region'], type: 'string' },
      { name: 'Priority', header: 'mcp-param-priority', path: ['priority'], type: 'integer' },
      { name: 'Dry-Run', header: 'mcp-param-dry-run', path: ['nested', 'dry'], type: 'boolean' },
    ]);
    expect(mirroredParams({ type: 'object' })).toEqual([]);
    expect(mirroredParams(undefined)).toEqual([]);
  });

  it.each([
    ['an empty name', { properties: { v: { type: 'string', 'x-mcp-header': '' } } }, /not a header name token/],
    ['a space', { properties: { v: { type: 'string', 'x-mcp-header': 'My Region' } } }, /not a header name token/],
    ['a colon', { properties: { v: { type: 'string', 'x-mcp-header': 'Region:Primary' } } }, /not a header name token/],
    ['non-ASCII', { properties: { v: { type: 'string', 'x-mcp-header': 'Région' } } }, /not a header name token/],
    ['a control character', { properties: { v: { type: 'string', 'x-mcp-header': 'Region\t1' } } }, /not a header name token/],
    ['a number', { properties: { v: { type: 'number', 'x-mcp-header': 'Score' } } }, /"number" property/],
    ['an object', { properties: { v: { type: 'object', 'x-mcp-header': 'Data' } } }, /"object" property/],
    ['a duplicate', { properties: { a: { type: 'string', 'x-mcp-header': 'MyField' }, b: { type: 'string', 'x-mcp-header': 'myfield' } } }, /given twice/],
    ['inside items', { properties: { list: { type: 'array', items: { type: 'string', 'x-mcp-header': 'Item' } } } }, /not on a property reached/],
    ['inside anyOf', { anyOf: [{ properties: { v: { type: 'string', 'x-mcp-header': 'V' } } }] }, /not on a property reached/],
    ['on the root', { type: 'string', 'x-mcp-header': 'Root' }, /not on a property reached/],
  ])('refuses %s', (_what, bad, reason) => {
    const got = mirroredParams(bad);
    expect(got).toEqual({ invalid: expect.stringMatching(reason) });
  });

  it('refuses a schema nested past the bound instead of walking it', () => {
    let deep: Record<string, unknown> = { type: 'string' };
    for (let i = 0; i < 100; i++) deep = { type: 'object', properties: { x: deep } };
    expect(mirroredParams(deep)).toEqual({ invalid: expect.stringMatching(/deeper than/) });
  });
});

describe('checking mirrored headers against the arguments', () => {
  const params = mirroredParams({
    properties: {
      region: { type: 'string', 'x-mcp-header': 'Region' },
      priority: { type: 'integer', 'x-mcp-header': 'Priority' },
      verbose: { type: 'boolean', 'x-mcp-header': 'Verbose' },
    },
  }) as MirroredParam[];
  const refused = (args: unknown, headers: Record<string, string | string[]>) => {
    try {
      checkMirrored(params, args, headers);
      return undefined;
    } catch (err) {
      return err as { code: string; message: string };
    }
  };

  it('accepts matching headers: decoded, integers numerically, absent values without headers', () => {
    expect(refused({ region: 'us-west1', priority: 42 }, { 'mcp-param-region': 'us-west1', 'mcp-param-priority': '42.0' })).toBeUndefined();
    expect(refused({ region: 'Hello', verbose: null }, { 'mcp-param-region': '=?base64?SGVsbG8=?=' })).toBeUndefined();
    expect(refused({ region: 'x', verbose: false }, { 'mcp-param-region': ' x ', 'mcp-param-verbose': 'false' })).toBeUndefined();
  });

  it.each([
    ['a missing header', { region: 'us' }, {}, /Mcp-Param-Region header is required/],
    ['a different value', { region: 'us' }, { 'mcp-param-region': 'eu' }, /does not match/],
    ['a different integer', { priority: 1 }, { 'mcp-param-priority': '2' }, /does not match/],
    ['a boolean in another spelling', { verbose: true }, { 'mcp-param-verbose': 'TRUE' }, /does not match/],
    ['a header for an absent value', {}, { 'mcp-param-region': 'us' }, /arguments have no region/],
    ['a repeated header', { region: 'us' }, { 'mcp-param-region': ['us', 'us'] }, /more than once/],
    ['raw non-ASCII', { region: 'é' }, { 'mcp-param-region': 'é' }, /characters a header value may not/],
    ['bad Base64 padding', { region: 'Hello' }, { 'mcp-param-region': '=?base64?SGVsbG8?=' }, /not valid Base64/],
  ])('refuses %s with HeaderMismatch', (_what, args, headers, message) => {
    expect(refused(args, headers)).toMatchObject({ code: 'HEADER_MISMATCH', message: expect.stringMatching(message) });
  });

  it('builds the headers a call carries upstream, and they pass the same check', () => {
    const args = { region: 'Hello, 世界', priority: 7, verbose: true };
    const headers = mirroredHeaders(params, args);
    expect(headers).toEqual({ 'mcp-param-region': '=?base64?SGVsbG8sIOS4lueVjA==?=', 'mcp-param-priority': '7', 'mcp-param-verbose': 'true' });
    expect(refused(args, headers)).toBeUndefined();
  });
});
