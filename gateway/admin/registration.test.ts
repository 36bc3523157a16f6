import { parseConfig } from '../config/load';
import type { RegisterAllowlist } from '../config/schema';
import { RegistrationAllowlist } from './registration';

const allow: RegisterAllowlist = { commands: ['node'], images: [], urls: ['https://h:*/*'], paths: ['/srv/mcp'] };
const server = (entry: Record<string, unknown>) => parseConfig({ servers: { s: entry } }, 't').servers[0];

describe('the registration allowlist of paths', () => {
  it('takes paths under a prefix even when they do not exist yet, and refuses the rest naming the field', async () => {
    const list = new RegistrationAllowlist(allow);
    await expect(list.check(server({ command: 'node', cwd: '/srv/mcp/not/made/yet' }))).resolves.toBeUndefined();
    await expect(list.check(server({ command: 'node', cwd: '/srv/mcp/../mcp-other' }))).rejects.toThrow(
      /^cwd: "\/srv\/mcp\/\.\.\/mcp-other" \(\/srv\/mcp-other once resolved\)/,
    );
    await expect(list.check(server({ command: 'node', cwd: '/srv/mcp' }))).resolves.toBeUndefined();
  });

  it('does not check again what a backend inherits from its server', async () => {
    const parent = server({ url: 'https://h:1/mcp', tls: { caFile: '/etc/ssl/ca.pem' } });
    const list = new RegistrationAllowlist(allow);
    await expect(list.check(parent)).rejects.toMatchObject({ code: 'FORBIDDEN', message: expect.stringMatching(/^tls\.caFile: /) });
    await expect(list.check(server({ url: 'https://h:2/mcp', tls: { caFile: '/etc/ssl/ca.pem' } }), parent)).resolves.toBeUndefined();
    await expect(list.check(server({ url: 'https://h:2/mcp', tls: { caFile: '/etc/ssl/other.pem' } }), parent)).rejects.toThrow(/^tls\.caFile: /);
  });

  it('allows no path at all by default', async () => {
    const list = new RegistrationAllowlist({ ...allow, paths: [] });
    await expect(list.check(server({ command: 'node', cwd: '/srv/mcp' }))).rejects.toThrow(/it is empty, so nothing can be registered/);
  });

  it('takes absolute path prefixes only, naming the entry', () => {
    expect(() => parseConfig({ admin: { register: { paths: ['/srv', 'srv/mcp'] } }, servers: { s: { command: 'x' } } }, 't')).toThrow(
      /admin\.register\.paths\.1: expected an absolute path prefix/,
    );
  });
});
