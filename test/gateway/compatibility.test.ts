/**
 * The registry's record of what each backend is, and the checks made on it: serverInfo, protocol
 * version, capabilities and a tools hash in the admin API and the metrics; a backend outside its
 * server's `version` range, or speaking a protocol version the gateway does not, is refused with
 * the reason; a replica whose tools differ from its set's is flagged. Both reasons are in the
 * admin API and in /health/readiness. Real scripted servers.
 */
import { admin, startAdminGateway } from '../helpers/admin';
import { connectClient, disconnect, newMarker, type TestGateway } from '../helpers/gateway';
import { scrapeMetrics, sampleValue } from '../helpers/metrics';
import { waitForNoProcesses } from '../helpers/processes';
import { scripted } from '../helpers/scripted';
import { waitFor } from '../helpers/wait';

type Backend = { id: string; state: string; identity?: Record<string, any>; refused?: string; mismatch?: string };

/** The backends of `server` as /health/readiness reports them. */
async function readinessOf(gw: TestGateway, server: string): Promise<Record<string, { refused?: string; mismatch?: string }>> {
  const body = (await (await fetch(`${gw.url}/health/readiness`)).json()) as { servers: Record<string, { backends: Record<string, object> }> };
  return body.servers[server].backends;
}

async function backendsOf(gw: TestGateway, server: string): Promise<Backend[]> {
  const servers = (await admin(gw, 'GET', '/admin/servers')).body.servers as { name: string; backends: Backend[] }[];
  return servers.find((s) => s.name === server)!.backends;
}

describe('what the registry knows of each backend', () => {
  const marker = newMarker();
  let gw: TestGateway;

  beforeAll(async () => {
    gw = await startAdminGateway(marker, {
      fits: scripted(marker, ['--tools', 'echo', '--name', 'fits', '--version', '1.4.2'], { version: '>=1.2 <2' }),
      tooNew: scripted(marker, ['--tools', 'echo', '--name', 'too-new', '--version', '2.0.0'], { version: '^1.2' }),
      unversioned: scripted(marker, ['--tools', 'echo', '--version', 'nightly'], { version: '^1' }),
      oldProtocol: scripted(marker, ['--tools', 'echo', '--protocol', '2023-01-01']),
      replicas: scripted(marker, ['--tools', 'echo,sleep', '--name', 'r']),
    });
  }, 60_000);

  afterAll(async () => {
    await gw?.stop();
    expect(await waitForNoProcesses(marker)).toEqual([]);
  });

  it('records serverInfo, protocol version, capabilities and a tools hash, in the admin API and the metrics', async () => {
    const [fits] = await waitFor(async () => {
      const b = await backendsOf(gw, 'fits');
      return b[0].state === 'ready' ? b : undefined;
    }, 'fits to be ready');
    expect(fits.identity).toEqual({
      serverInfo: { name: 'fits', version: '1.4.2' },
      protocolVersion: '2025-11-25',
      era: 'legacy',
      capabilities: ['tools'],
      toolsHash: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
    expect(fits.refused).toBeUndefined();
    const samples = await scrapeMetrics(gw);
    expect(
      sampleValue(samples, 'mcp_gateway_backend_info', {
        server: 'fits',
        backend: 'primary',
        server_name: 'fits',
        server_version: '1.4.2',
        protocol_version: '2025-11-25',
        tools_hash: fits.identity!.toolsHash.slice(0, 12),
      }),
    ).toBe(1);
    expect(sampleValue(samples, 'mcp_gateway_backend_refused', { server: 'fits', backend: 'primary' })).toBe(0);
  });

  it('refuses a backend outside its version range, without a semantic version, or on a protocol version the gateway does not speak', async () => {
    const refusal = async (server: string) => waitFor(async () => (await backendsOf(gw, server))[0].refused, `${server} to be refused`);
    expect(await refusal('tooNew')).toBe('its serverInfo.version 2.0.0 is outside version: "^1.2"');
    expect(await refusal('unversioned')).toBe('its serverInfo.version "nightly" is not a semantic version, and version: "^1" asks for one');
    expect(await refusal('oldProtocol')).toMatch(/^it speaks protocol version "2023-01-01", which the gateway does not \(it speaks 2026-07-28, 2025-11-25/);
    for (const server of ['tooNew', 'unversioned', 'oldProtocol']) expect((await backendsOf(gw, server))[0].state).not.toBe('ready');
    expect((await readinessOf(gw, 'tooNew')).primary.refused).toBe('its serverInfo.version 2.0.0 is outside version: "^1.2"');
    expect((await readinessOf(gw, 'fits')).primary.refused).toBeUndefined();

    // a client sees none of their tools
    const client = await connectClient(gw, 'streamable-http');
    const names = (await client.listTools()).tools.map((t) => t.name);
    expect(names).toContain('fits__echo');
    expect(names.filter((n) => /^(tooNew|unversioned|oldProtocol)__/.test(n))).toEqual([]);
    await disconnect(client);
    expect(sampleValue(await scrapeMetrics(gw), 'mcp_gateway_backend_refused', { server: 'tooNew', backend: 'primary' })).toBe(1);
  });

  it('flags the replica whose tools differ from the rest of its set', async () => {
    const replica = (id: string, tools: string) => {
      const { command, args, env } = scripted(marker, ['--tools', tools, '--name', 'r']);
      return admin(gw, 'POST', '/admin/servers/replicas/backends', { body: { id, weight: 50, command, args, env } });
    };
    expect((await replica('twin', 'echo,sleep')).status).toBe(201);
    expect((await replica('odd', 'echo,sleep,fail')).status).toBe(201);
    const backends = await waitFor(async () => {
      const b = await backendsOf(gw, 'replicas');
      return b.every((x) => x.state === 'ready') ? b : undefined;
    }, 'three ready replicas');
    const byId = Object.fromEntries(backends.map((b) => [b.id, b]));
    expect(byId.primary.identity!.toolsHash).toBe(byId.twin.identity!.toolsHash);
    expect(byId.odd.identity!.toolsHash).not.toBe(byId.primary.identity!.toolsHash);
    expect(byId.primary.mismatch).toBeUndefined();
    expect(byId.twin.mismatch).toBeUndefined();
    expect(byId.odd.mismatch).toMatch(/^its tools \(hash [0-9a-f]{12}\) differ from its replica set's \(hash [0-9a-f]{12}\)/);
    const ready = await readinessOf(gw, 'replicas');
    expect([ready.primary.mismatch, ready.twin.mismatch, ready.odd.mismatch]).toEqual([undefined, undefined, byId.odd.mismatch]);
    const samples = await scrapeMetrics(gw);
    expect(sampleValue(samples, 'mcp_gateway_backend_tools_mismatch', { server: 'replicas', backend: 'odd' })).toBe(1);
    expect(sampleValue(samples, 'mcp_gateway_backend_tools_mismatch', { server: 'replicas', backend: 'twin' })).toBe(0);
  });

  it('refuses a version constraint that is not a semver range, naming the field', async () => {
    await expect(startAdminGateway(newMarker(), { x: scripted(marker, [], { version: 'one point two' }) })).rejects.toThrow(
      /servers\.x\.version: expected a semver range/,
    );
  });
});
