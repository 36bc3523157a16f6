/**
 * /metrics in the Prometheus text format: served beside /mcp without auth but behind the
 * Origin/Host guard, counting forwarded requests by server, backend, method and outcome, with
 * sessions, upstream state, weights and the process metrics, each gateway in its own registry.
 */
import { connectClient, disconnect, newMarker, startTestGateway } from '../helpers/gateway';
import { scripted } from '../helpers/scripted';
import { admin, startAdminGateway } from '../helpers/admin';
import { scrapeMetrics, sampleValue } from '../helpers/metrics';
import { waitForNoProcesses } from '../helpers/processes';
import { waitFor } from '../helpers/wait';

describe('/metrics', () => {
  it('counts forwarded calls by outcome, with their durations, sessions, upstreams and weights', async () => {
    const marker = newMarker();
    const gw = await startAdminGateway(marker, { m: scripted(marker, ['--tools', 'echo,fail,tool_error', '--name', 'm']) });
    const other = await startTestGateway({ servers: { o: scripted(marker, ['--tools', 'echo']) } }, marker);
    try {
      const client = await connectClient(gw, 'streamable-http');
      const ws = await connectClient(gw, 'websocket');
      for (let i = 0; i < 3; i++) await client.callTool({ name: 'm__echo', arguments: {} });
      await expect(client.callTool({ name: 'm__fail', arguments: {} })).rejects.toThrow(/failed on purpose/);
      await client.callTool({ name: 'm__tool_error', arguments: {} });
      await client.callTool({ name: 'm__tool_error', arguments: {} });
      await client.listTools(); // answered by the gateway itself: not a forwarded request

      const samples = await scrapeMetrics(gw);
      const requests = (outcome: string) =>
        sampleValue(samples, 'mcp_gateway_requests_total', { server: 'm', backend: 'primary', method: 'tools/call', outcome });
      expect([requests('ok'), requests('error'), requests('tool_error')]).toEqual([3, 1, 2]);
      expect(samples.filter((s) => s.name === 'mcp_gateway_requests_total').every((s) => s.labels.method === 'tools/call')).toBe(true);
      expect(sampleValue(samples, 'mcp_gateway_request_duration_seconds_count', { server: 'm', backend: 'primary', method: 'tools/call' })).toBe(6);
      expect(sampleValue(samples, 'mcp_gateway_request_duration_seconds_bucket', { server: 'm', backend: 'primary', method: 'tools/call', le: '+Inf' })).toBe(
        6,
      );
      expect(sampleValue(samples, 'mcp_gateway_sessions', { front: 'streamable-http' })).toBe(1);
      expect(sampleValue(samples, 'mcp_gateway_sessions', { front: 'websocket' })).toBe(1);
      expect(sampleValue(samples, 'mcp_gateway_upstream_up', { server: 'm', backend: 'primary' })).toBe(1);
      expect(sampleValue(samples, 'mcp_gateway_backend_weight', { server: 'm', backend: 'primary' })).toBe(100);
      expect(sampleValue(samples, 'mcp_gateway_process_resident_memory_bytes')).toBeGreaterThan(0);
      expect(samples.some((s) => s.name === 'mcp_gateway_pool_containers')).toBe(false);

      // a backend added through the admin API shows up with its weight, down while it cannot start
      await admin(gw, 'POST', '/admin/servers/m/backends', {
        body: { id: 'canary', weight: 5, command: process.execPath, args: ['/nonexistent/mcp-server.js'] },
      });
      const after = await scrapeMetrics(gw);
      expect(sampleValue(after, 'mcp_gateway_backend_weight', { server: 'm', backend: 'canary' })).toBe(5);
      expect(sampleValue(after, 'mcp_gateway_upstream_up', { server: 'm', backend: 'canary' })).toBe(0);

      // the other gateway in this process has counters of its own
      const otherSamples = await scrapeMetrics(other);
      expect(otherSamples.some((s) => s.name === 'mcp_gateway_requests_total')).toBe(false);
      expect(sampleValue(otherSamples, 'mcp_gateway_upstream_up', { server: 'o', backend: 'primary' })).toBe(1);
      await disconnect(client);
      await disconnect(ws);
    } finally {
      await gw.stop();
      await other.stop();
    }
    expect(await waitForNoProcesses(marker)).toEqual([]);
  });

  it('counts upstream connections made, lost (a crash) and failed (cannot start)', async () => {
    const marker = newMarker();
    const gw = await startAdminGateway(marker, { c: scripted(marker, ['--tools', 'echo,crash']) });
    try {
      const client = await connectClient(gw, 'streamable-http');
      const connections = async (outcome: string) =>
        sampleValue(await scrapeMetrics(gw), 'mcp_gateway_upstream_connections_total', { server: 'c', backend: 'primary', outcome });
      expect([await connections('connected'), await connections('lost'), await connections('failed')]).toEqual([1, 0, 0]);
      await expect(client.callTool({ name: 'c__crash', arguments: {} })).rejects.toThrow();
      // the process died: one lost, and the supervisor's restart connects again
      await waitFor(async () => (await connections('connected')) === 2, 'the restarted server to connect');
      expect(await connections('lost')).toBe(1);
      await admin(gw, 'POST', '/admin/servers/c/backends', {
        body: { id: 'broken', weight: 0, command: process.execPath, args: ['/nonexistent/mcp-server.js'] },
      });
      const failed = await waitFor(async () => {
        const n = sampleValue(await scrapeMetrics(gw), 'mcp_gateway_upstream_connections_total', { server: 'c', backend: 'broken', outcome: 'failed' });
        return n !== undefined && n >= 1 ? n : undefined;
      }, 'the broken backend to fail');
      expect(failed).toBeGreaterThanOrEqual(1);
      await disconnect(client);
    } finally {
      await gw.stop();
    }
    expect(await waitForNoProcesses(marker)).toEqual([]);
  });

  it('needs no token, but answers only GET and only behind the Origin/Host guard', async () => {
    const marker = newMarker();
    const gw = await startAdminGateway(marker, { m: scripted(marker, ['--tools', 'echo']) });
    try {
      const ok = await fetch(`${gw.url}/metrics`);
      expect(ok.status).toBe(200);
      expect(ok.headers.get('content-type')).toContain('text/plain');
      expect(await ok.text()).toContain('# TYPE mcp_gateway_requests_total counter');
      const post = await fetch(`${gw.url}/metrics`, { method: 'POST' });
      expect(post.status).toBe(405);
      expect(post.headers.get('allow')).toBe('GET');
      expect((await fetch(`${gw.url}/metrics`, { headers: { origin: 'http://evil.example' } })).status).toBe(403);
      expect((await admin(gw, 'GET', '/admin/servers', { headers: { origin: 'http://evil.example' } })).status).toBe(403);
    } finally {
      await gw.stop();
    }
    expect(await waitForNoProcesses(marker)).toEqual([]);
  });
});
