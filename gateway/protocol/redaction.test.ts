import { holdSecret, heldSecretCount, MIN_SECRET_LENGTH, redactSecrets } from './redaction';
import { FleetError } from './errors';

describe('secret redaction', () => {
  it('replaces held values, their JSON-escaped form and the longest first, until released', () => {
    const before = heldSecretCount();
    const releaseA = holdSecret('s3cr3t-token');
    const releaseB = holdSecret('s3cr3t-token-longer');
    const releaseQ = holdSecret('with "quotes" \\ here');
    expect(redactSecrets('a s3cr3t-token-longer and s3cr3t-token')).toBe('a [secret] and [secret]');
    expect(redactSecrets(JSON.stringify({ v: 'x with "quotes" \\ here y' }))).toBe('{"v":"x [secret] y"}');
    expect(new FleetError('UPSTREAM_UNAVAILABLE', 'HTTP 401: bad token s3cr3t-token').message).toBe('HTTP 401: bad token [secret]');
    releaseA();
    releaseA(); // a second release of the same hold changes nothing
    expect(redactSecrets('s3cr3t-token')).toBe('s3cr3t-token');
    expect(redactSecrets('s3cr3t-token-longer')).toBe('[secret]');
    releaseB();
    releaseQ();
    expect(heldSecretCount()).toBe(before);
  });

  it('counts holders: a value held twice stays redacted until both let go', () => {
    const one = holdSecret('shared-value');
    const two = holdSecret('shared-value');
    one();
    expect(redactSecrets('shared-value')).toBe('[secret]');
    two();
    expect(redactSecrets('shared-value')).toBe('shared-value');
  });

  it('refuses a value too short to tell apart from ordinary text', () => {
    expect(() => holdSecret('x'.repeat(MIN_SECRET_LENGTH - 1))).toThrow(/at least 4 characters/);
  });
});
