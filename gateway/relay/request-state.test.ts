import { RequestStateSealer, requestDigest } from './request-state';

const key = (id: string) => ({ id, secret: `${id}-secret-of-at-least-32-characters!!` });
const STATE = {
  kind: 'held' as const,
  m: 'tools/call',
  h: requestDigest({ name: 't', arguments: { a: 1 } }),
  s: 'srv',
  p: 'anonymous:anonymous',
  x: 'call-1',
  i: 'instance-1',
};

describe('the sealed requestState', () => {
  it('opens what it sealed, for the same method and arguments, with its content unreadable on the wire', () => {
    const sealer = new RequestStateSealer([key('k1')], 60_000);
    const sealed = sealer.seal(STATE);
    expect(sealed).toMatch(/^fs1\.[A-Za-z0-9_-]+$/);
    expect(Buffer.from(sealed.slice(4), 'base64url').toString('latin1')).not.toContain('call-1');
    expect(sealer.open(sealed, 'tools/call', STATE.h)).toMatchObject(STATE);
  });

  it('binds the digest to the salient params only, in any key order', () => {
    expect(requestDigest({ arguments: { b: 2, a: 1 }, name: 't', requestState: 'x', inputResponses: { q: {} }, _meta: { progressToken: 1 } })).toBe(
      requestDigest({ name: 't', arguments: { a: 1, b: 2 } }),
    );
    expect(requestDigest({ name: 't', arguments: { a: 2 } })).not.toBe(requestDigest({ name: 't', arguments: { a: 1 } }));
  });

  it('refuses a state altered anywhere, another method, other arguments, and one it never issued', () => {
    const sealer = new RequestStateSealer([key('k1')], 60_000);
    const sealed = sealer.seal(STATE);
    const body = Buffer.from(sealed.slice(4), 'base64url');
    for (let i = 0; i < body.length; i += 7) {
      const flipped = Buffer.from(body);
      flipped[i] ^= 1;
      expect(() => sealer.open(`fs1.${flipped.toString('base64url')}`, 'tools/call', STATE.h)).toThrow(
        expect.objectContaining({ code: 'INVALID_REQUEST_STATE' }),
      );
    }
    expect(() => sealer.open(sealed, 'prompts/get', STATE.h)).toThrow(/another method/);
    expect(() => sealer.open(sealed, 'tools/call', requestDigest({ name: 't', arguments: { a: 2 } }))).toThrow(/another request/);
    for (const bad of [undefined, 42, '', 'fs1.', 'xyz', `fs1.${'A'.repeat(70_000)}`]) {
      expect(() => sealer.open(bad, 'tools/call', STATE.h)).toThrow(
        expect.objectContaining({ code: 'INVALID_REQUEST_STATE', data: expect.objectContaining({ reason: 'invalid_request_state' }) }),
      );
    }
  });

  it('refuses an expired state', () => {
    let now = 1_000_000;
    const sealer = new RequestStateSealer([key('k1')], 1000, () => now);
    const sealed = sealer.seal(STATE);
    now += 999;
    expect(sealer.open(sealed, 'tools/call', STATE.h).x).toBe('call-1');
    now += 2;
    expect(() => sealer.open(sealed, 'tools/call', STATE.h)).toThrow(/expired/);
  });

  it('rotates keys: the new one seals, the old one still opens; a gateway without the key cannot open', () => {
    const before = new RequestStateSealer([key('old')], 60_000);
    const after = new RequestStateSealer([key('new'), key('old')], 60_000);
    const sealedBefore = before.seal(STATE);
    expect(after.open(sealedBefore, 'tools/call', STATE.h).x).toBe('call-1');
    expect(() => before.open(after.seal(STATE), 'tools/call', STATE.h)).toThrow(/never|not a requestState/);
    expect(() => new RequestStateSealer([], 60_000).open(sealedBefore, 'tools/call', STATE.h)).toThrow(
      expect.objectContaining({ code: 'INVALID_REQUEST_STATE' }),
    );
  });
});
