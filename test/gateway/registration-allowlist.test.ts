/**
 * The registration allowlist's paths (issue 10, "Registering a server at runtime is limited to an
 * allowlist"): on a real gateway, `POST /admin/servers` and `.../backends` take a `cwd`, a remote
 * server's `tls` files and a container's bind mounts only under `admin.register.paths`, resolved
 * first (`..` segments, symlinks out of an allowed directory, a sibling with the same prefix are
 * all refused), and a command given as a path only as its normalised form matches; each refusal is
 * 403 naming the field. What passes is registered and served to the SDK client.
 */
import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { admin, ADMIN_TOKEN } from '../helpers/admin';
import { connectClient, disconnect, newMarker, startTestGateway, type TestGateway } from '../helpers/gateway';
import { waitForNoProcesses } from '../helpers/processes';
import { scripted } from '../helpers/scripted';

jest.setTimeout(60_000);

const marker = newMarker();
let root: string;
let allowed: string;
let outside: string;
let gw: TestGateway;

beforeAll(async () => {
  // real paths: /tmp may itself be a symlink, and the refusals show resolved paths
  root = realpathSync(mkdtempSync(join(tmpdir(), 'mcp-fleet-reg-')));
  allowed = join(root, 'allowed');
  outside = join(root, 'outside');
  for (const dir of [allowed, outside, `${allowed}-evil`, join(allowed, 'work')]) mkdirSync(dir);
  symlinkSync(outside, join(allowed, 'escape'));
  gw = await startTestGateway(
    {
      admin: {
        token: ADMIN_TOKEN,
        register: { commands: [process.execPath, `${allowed}/bin/*`], urls: ['https://127.0.0.1:*/*'], images: ['mcp-fleet*'], paths: [allowed] },
      },
      servers: { a: scripted(marker, ['--tools', 'echo']) },
    },
    marker,
  );
});

afterAll(async () => {
  await gw?.stop();
  rmSync(root, { recursive: true, force: true });
  expect(await waitForNoProcesses(marker)).toEqual([]);
});

const register = (body: Record<string, unknown>) => admin(gw, 'POST', '/admin/servers', { body });
const refusal = (field: string) => ({ status: 403, body: { error: expect.stringMatching(new RegExp(`^${field.replace(/\./g, '\\.')}: `)) } });

it('registers a server whose cwd is under an allowed path, and serves it', async () => {
  const { command, args, env } = scripted(marker, ['--tools', 'echo', '--name', 'inside']);
  expect(await register({ name: 'inside', command, args, env, cwd: join(allowed, 'work') })).toMatchObject({ status: 201 });
  const client = await connectClient(gw, 'streamable-http');
  expect(await client.callTool({ name: 'inside__echo', arguments: {} })).toMatchObject({ content: [{ text: 'inside:echo' }] });
  await disconnect(client);
  expect((await admin(gw, 'DELETE', '/admin/servers/inside')).status).toBe(204);
});

it('refuses a cwd outside, through .., through a symlink, or in a sibling that shares the prefix, with 403 naming cwd', async () => {
  const { command, args, env } = scripted(marker, ['--tools', 'echo']);
  for (const cwd of [outside, `${allowed}/../${basename(outside)}`, join(allowed, 'escape'), `${allowed}-evil`, '/']) {
    const reply = await register({ name: 'out', command, args, env, cwd });
    expect([cwd, reply]).toEqual([cwd, expect.objectContaining(refusal('cwd'))]);
    expect(reply.body.error).toContain('is not under a path of the registration allowlist (admin.register.paths in the gateway config');
  }
  // the resolved path is shown next to the one given
  expect((await register({ name: 'out', command, args, env, cwd: join(allowed, 'escape') })).body.error).toContain(`(${outside} once resolved)`);
  expect((await admin(gw, 'GET', '/admin/servers')).body.servers.map((s: { name: string }) => s.name)).toEqual(['a']);
});

it('refuses a command that leaves an allowed directory through .., and one not listed, naming command', async () => {
  expect(await register({ name: 'sh', command: `${allowed}/bin/../../../bin/sh` })).toMatchObject(refusal('command'));
  expect(await register({ name: 'sh', command: '/bin/sh' })).toMatchObject({
    status: 403,
    body: { error: expect.stringContaining('command: "/bin/sh" is not on the registration allowlist (admin.register.commands') },
  });
});

it('refuses TLS files and bind mounts outside the allowed paths, naming the field', async () => {
  expect(await register({ name: 'r', url: 'https://127.0.0.1:1/mcp', tls: { caFile: '/etc/passwd' } })).toMatchObject(refusal('tls.caFile'));
  expect(
    await register({ name: 'r', url: 'https://127.0.0.1:1/mcp', tls: { certFile: join(allowed, 'c.pem'), keyFile: `${allowed}/../outside/k.pem` } }),
  ).toMatchObject(refusal('tls.keyFile'));
  const docker = { image: 'mcp-fleet/mcp-server:dev', volumes: ['data:/data', '/etc:/host-etc:ro'] };
  expect(await register({ name: 'd', docker })).toMatchObject(refusal('docker.volumes.1'));
});

it('refuses a backend whose cwd is outside, and lets it in under an allowed path', async () => {
  const { command, args, env } = scripted(marker, ['--tools', 'echo', '--name', 'canary']);
  expect(await admin(gw, 'POST', '/admin/servers/a/backends', { body: { id: 'c', command, args, env, cwd: outside } })).toMatchObject(refusal('cwd'));
  expect(await admin(gw, 'POST', '/admin/servers/a/backends', { body: { id: 'c', command, args, env, cwd: allowed } })).toMatchObject({ status: 201 });
  expect((await admin(gw, 'DELETE', '/admin/servers/a/backends/c')).status).toBe(204);
});
