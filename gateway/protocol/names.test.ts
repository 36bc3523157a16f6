import { exposedName, isSafeName, safeName } from './names';

describe('exposed names', () => {
  it('prefixes with the server and separator, or leaves names alone when unprefixed', () => {
    expect(exposedName('memory', '__', 'create_entities')).toBe('memory__create_entities');
    expect(exposedName(undefined, '__', 'echo')).toBe('echo');
  });

  it('maps names that break the spec deterministically to distinct valid names', () => {
    const a = safeName('my server/echo tool');
    const b = safeName('my server/echo-tool');
    expect(isSafeName(a)).toBe(true);
    expect(isSafeName(b)).toBe(true);
    expect(a).not.toBe(b);
    expect(safeName('my server/echo tool')).toBe(a);
    expect(a.startsWith('my_server_echo_tool-')).toBe(true);
  });

  it('keeps over-long names within 128 characters without losing distinctness', () => {
    const long1 = 'x'.repeat(200) + '1';
    const long2 = 'x'.repeat(200) + '2';
    expect(safeName(long1)).toHaveLength(128);
    expect(safeName(long1)).not.toBe(safeName(long2));
    expect(isSafeName(safeName(long1))).toBe(true);
  });

  it('maps an empty name to a valid one', () => {
    expect(isSafeName(safeName(''))).toBe(true);
  });
});
