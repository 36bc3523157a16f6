import { checkOrigin } from './origin-guard';

const loopback = { allowedOrigins: [], allowedHosts: [], loopbackOnly: true };

describe('origin guard', () => {
  it('lets non-browser clients (no Origin) and loopback pages through', () => {
    expect(checkOrigin({ host: '127.0.0.1:8080' }, loopback)).toBeUndefined();
    expect(checkOrigin({ host: 'localhost:8080', origin: 'http://localhost:3000' }, loopback)).toBeUndefined();
  });

  it('refuses a foreign Origin with 403, unless configured', () => {
    const err = checkOrigin({ host: '127.0.0.1:8080', origin: 'http://evil.example' }, loopback);
    expect(err?.httpStatus).toBe(403);
    expect(err?.message).toContain('http.allowedOrigins');
    expect(checkOrigin({ host: '127.0.0.1:8080', origin: 'http://app.example' }, { ...loopback, allowedOrigins: ['http://app.example'] })).toBeUndefined();
  });

  it('refuses a rebound Host name on a loopback listener', () => {
    expect(checkOrigin({ host: 'attacker.example:8080' }, loopback)?.code).toBe('FORBIDDEN_HOST');
    expect(checkOrigin({ host: 'gw.internal:8080' }, { ...loopback, allowedHosts: ['gw.internal'] })).toBeUndefined();
  });

  it('does not check Host on a public listener unless hosts are configured', () => {
    expect(checkOrigin({ host: 'gw.example.com' }, { ...loopback, loopbackOnly: false })).toBeUndefined();
    expect(checkOrigin({ host: 'other.example.com' }, { ...loopback, loopbackOnly: false, allowedHosts: ['gw.example.com'] })?.code).toBe('FORBIDDEN_HOST');
  });
});
