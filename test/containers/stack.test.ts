/**
 * The compose stack (docker-compose.yml) on the real engine: an official SDK client on the
 * gateway's published loopback port lists and calls the tools of the memory and filesystem servers
 * (each behind its stdio→HTTP bridge); the memory graph survives a restart and a re-creation of
 * its container; `docker inspect` and the processes show the hardening of every service (the
 * pipeline and temporal too; test/containers/pipeline-service.test.ts drives those); `down -v`
 * leaves nothing.
 */
import { ComposeProject, docker, inspect, requireEngineAndImages, type Inspect } from './support/docker';
import { connectHttp, text, type HttpClient } from './support/mcp';
import { waitFor } from '../helpers/wait';

jest.setTimeout(180_000);

/** Prints the environment of the node process in a container (neither pidof nor ps is in every base). */
const NODE_ENVIRON = `for f in /proc/[0-9]*/cmdline; do case "$(tr '\\0' ' ' <"$f")" in node*) tr '\\0' '\\n' <"\${f%cmdline}environ";; esac; done`;

describe('compose stack', () => {
  const project = new ComposeProject();
  let session: HttpClient;

  beforeAll(async () => {
    await requireEngineAndImages();
    await project.up();
    await project.waitHealthy();
    session = await connectHttp(await project.gatewayAddress());
  });

  afterAll(async () => {
    await session?.close();
    await project.down();
    expect(await project.leftovers()).toEqual([]);
  });

  it('lists and calls the tools of memory and filesystem through the gateway', async () => {
    const { tools } = await session.client.listTools();
    const names = tools.map((t) => t.name);
    expect(names).toEqual(expect.arrayContaining(['memory__create_entities', 'memory__read_graph', 'filesystem__write_file', 'filesystem__read_text_file']));

    const created = await session.client.callTool({
      name: 'memory__create_entities',
      arguments: { entities: [{ name: 'gateway', entityType: 'service', observations: ['runs in a container'] }] },
    });
    expect(created.isError).toBeFalsy();

    const written = await session.client.callTool({ name: 'filesystem__write_file', arguments: { path: '/data/hello.txt', content: 'hello from the test' } });
    expect(written.isError).toBeFalsy();
    const read = await session.client.callTool({ name: 'filesystem__read_text_file', arguments: { path: '/data/hello.txt' } });
    expect(text(read)).toBe('hello from the test');
  });

  it('keeps the memory graph across a restart and a re-creation of the memory container, in the same client session', async () => {
    await session.client.callTool({
      name: 'memory__create_entities',
      arguments: { entities: [{ name: 'survivor', entityType: 'test', observations: ['written before the restart'] }] },
    });
    const sessionId = session.transport.sessionId;
    const before = await project.container('memory');

    expect((await project.compose('restart', 'memory')).code).toBe(0);
    const afterRestart = await waitFor(async () => {
      const r = await session.client.callTool({ name: 'memory__read_graph', arguments: {} }).catch(() => undefined);
      return r && !r.isError && text(r).includes('survivor') ? r : undefined;
    }, 'memory__read_graph to answer after the restart');
    expect(text(afterRestart)).toContain('written before the restart');

    // a new container (new writable layer, same named volume)
    expect((await project.compose('up', '-d', '--force-recreate', '--no-deps', 'memory')).code).toBe(0);
    expect(await project.container('memory')).not.toBe(before);
    const afterRecreate = await waitFor(async () => {
      const r = await session.client.callTool({ name: 'memory__read_graph', arguments: {} }).catch(() => undefined);
      return r && !r.isError && text(r).includes('survivor') ? r : undefined;
    }, 'memory__read_graph to answer after the re-creation');
    expect(text(afterRecreate)).toContain('written before the restart');
    expect(session.transport.sessionId).toBe(sessionId);
  });

  it('runs every container hardened: non-root, read-only root, no capabilities, no-new-privileges, limits, init', async () => {
    const ids = await project.containers();
    expect(ids).toHaveLength(6);
    for (const id of ids) {
      const c: Inspect = await inspect(id);
      const what = c.Name;
      expect({ what, user: c.Config.User }).toEqual({ what, user: '10001:10001' });
      expect({ what, readOnly: c.HostConfig.ReadonlyRootfs }).toEqual({ what, readOnly: true });
      expect({ what, capDrop: c.HostConfig.CapDrop }).toEqual({ what, capDrop: ['ALL'] });
      expect({ what, capAdd: c.HostConfig.CapAdd ?? [] }).toEqual({ what, capAdd: [] });
      expect(c.HostConfig.SecurityOpt).toContain('no-new-privileges:true');
      expect(c.HostConfig.Privileged).toBe(false);
      expect(c.HostConfig.Init).toBe(true);
      expect(c.HostConfig.Memory).toBeGreaterThan(0);
      expect(c.HostConfig.NanoCpus).toBeGreaterThan(0);
      expect(c.HostConfig.PidsLimit).toBeGreaterThan(0);
      expect(Object.keys(c.HostConfig.Tmpfs ?? {})).toEqual(['/tmp']);
      expect(c.Config.Healthcheck?.Test?.[0]).toBe('CMD');

      // what the kernel enforces on the running processes, not just the configuration
      const status = await docker('exec', id, 'cat', '/proc/1/status');
      expect(status).toMatch(/^Uid:\s+10001\s+10001\s+10001\s+10001$/m);
      expect(status).toMatch(/^CapEff:\s+0+$/m);
      expect(status).toMatch(/^NoNewPrivs:\s+1$/m);
      // even root (exec -u 0) cannot write the root filesystem; /tmp is the writable tmpfs
      const write = await docker('exec', '-u', '0', id, 'sh', '-c', 'touch /probe 2>&1; touch /tmp/probe && echo tmp-ok');
      expect(write).toMatch(/Read-only file system/);
      expect(write).toContain('tmp-ok');
    }
  });

  it('publishes only the gateway and the Temporal UI, on loopback, and keeps the servers on the internal network', async () => {
    const gateway = await inspect(await project.container('gateway'));
    const bindings = gateway.NetworkSettings.Ports['8080/tcp'];
    expect(bindings.map((b: { HostIp: string }) => b.HostIp)).toEqual(['127.0.0.1']);
    expect(Object.keys(gateway.NetworkSettings.Networks).sort()).toEqual([`${project.name}_backend`, `${project.name}_frontend`]);

    for (const service of ['memory', 'filesystem', 'pipeline', 'pipeline-worker']) {
      const c = await inspect(await project.container(service));
      expect(Object.values(c.NetworkSettings.Ports ?? {}).every((b) => b === null)).toBe(true);
      expect(Object.keys(c.NetworkSettings.Networks)).toEqual([`${project.name}_backend`]);
    }
    const backend = JSON.parse(await docker('network', 'inspect', `${project.name}_backend`))[0];
    expect(backend.Internal).toBe(true);

    // temporal: gRPC on the backend only; the UI published on loopback through a network without outbound NAT
    const temporal = await inspect(await project.container('temporal'));
    const published = Object.entries(temporal.NetworkSettings.Ports as Record<string, { HostIp: string }[] | null>).filter(([, b]) => b !== null);
    expect(published.map(([port, b]) => [port, b!.map((x) => x.HostIp)])).toEqual([['8233/tcp', ['127.0.0.1']]]);
    expect(Object.keys(temporal.NetworkSettings.Networks).sort()).toEqual([`${project.name}_backend`, `${project.name}_temporal-ui`]);
    const ui = JSON.parse(await docker('network', 'inspect', `${project.name}_temporal-ui`))[0];
    expect(ui.Options['com.docker.network.bridge.enable_ip_masquerade']).toBe('false');
  });

  it('gives the gateway its token as a compose secret file, never in its configuration', async () => {
    const id = await project.container('gateway');
    const c = await inspect(id);
    expect(c.Config.Env).toContain('UPSTREAM_TOKEN_FILE=/run/secrets/upstream_token');
    expect(c.Config.Env.some((e: string) => e.startsWith('UPSTREAM_TOKEN='))).toBe(false);
    const token = await docker('exec', id, 'cat', '/run/secrets/upstream_token');
    expect(token.trim().length).toBeGreaterThan(0);
    // the gateway process itself got UPSTREAM_TOKEN from the file (entrypoint.sh)
    const environ = await docker('exec', id, 'sh', '-c', NODE_ENVIRON);
    expect(environ).toContain(`UPSTREAM_TOKEN=${token.trim()}`);
  });

  it("writes every service's logs to the logs volume", async () => {
    const files = await docker('exec', await project.container('gateway'), 'ls', '/var/log/mcp-fleet');
    for (const service of ['gateway', 'memory', 'filesystem', 'pipeline', 'pipeline-worker', 'temporal'])
      expect(files).toMatch(new RegExp(`^${service}-[0-9a-f]+\\.log$`, 'm'));
    const gatewayLog = await docker('exec', await project.container('gateway'), 'sh', '-c', 'cat /var/log/mcp-fleet/gateway-*.log');
    expect(gatewayLog).toContain('"msg":"gateway listening"');
  });
});
