/**
 * Heap snapshots and CPU profiles through the admin API (role admin:debug): refused without the
 * role, one at a time, a profile with samples, a snapshot streamed as a download.
 */
import { connectGateway, type GatewayConnection } from '../../gateway/client/connect';
import { ADMIN_TOKEN } from '../helpers/admin';
import { newMarker, startTestGateway, type TestGateway } from '../helpers/gateway';
import { waitForNoProcesses } from '../helpers/processes';
import { scripted } from '../helpers/scripted';
import { testSecret } from '../helpers/secret-values';

jest.setTimeout(120_000);

const READER = testSecret('profiling-reader-key-0123456789abcdefghijkl', 'admin:read key of profiling.test.ts');
const AGENT = testSecret('profiling-agent-key-0123456789abcdefghijklm', 'client key of profiling.test.ts');

describe('profiling the running gateway', () => {
  const marker = newMarker();
  let gw: TestGateway;
  let agent: GatewayConnection;

  const post = (path: string, token?: string) => fetch(`${gw.url}${path}`, { method: 'POST', headers: token ? { authorization: `Bearer ${token}` } : {} });

  beforeAll(async () => {
    gw = await startTestGateway(
      {
        admin: { token: ADMIN_TOKEN },
        auth: {
          apiKeys: {
            keys: [
              { name: 'reader', key: READER, roles: ['admin:read'] },
              { name: 'agent', key: AGENT },
            ],
          },
        },
        servers: { notes: scripted(marker) },
      },
      marker,
    );
    agent = await connectGateway(gw.url, 'streamable-http', { name: 'agent', version: '1.0.0', headers: { authorization: `Bearer ${AGENT}` } });
  });

  afterAll(async () => {
    await agent?.close();
    await gw?.stop();
    expect(await waitForNoProcesses(marker)).toEqual([]);
  });

  it('refuses callers without admin:debug, and a bad duration, naming what is wrong', async () => {
    expect((await post('/admin/debug/heap-snapshot')).status).toBe(401);
    const reader = await post('/admin/debug/heap-snapshot', READER);
    expect(reader.status).toBe(403);
    expect(((await reader.json()) as { error: string }).error).toContain('needs the role admin:debug');
    for (const seconds of ['0', '61', 'ten']) {
      const bad = await post(`/admin/debug/cpu-profile?seconds=${seconds}`, ADMIN_TOKEN);
      expect(bad.status).toBe(400);
      expect(((await bad.json()) as { error: string }).error).toContain('seconds');
    }
  });

  it('takes a CPU profile, one at a time', async () => {
    const profiling = post('/admin/debug/cpu-profile?seconds=1', ADMIN_TOKEN);
    // while it runs, another profile and a heap snapshot wait their turn
    const busy = await post('/admin/debug/cpu-profile?seconds=1', ADMIN_TOKEN);
    const snapshotBusy = await post('/admin/debug/heap-snapshot', ADMIN_TOKEN);
    const res = await profiling;
    expect([busy.status, snapshotBusy.status]).toEqual([409, 409]);
    expect(((await busy.json()) as { error: string }).error).toContain('a CPU profile is being taken');
    expect(res.status).toBe(200);
    const profile = (await res.json()) as { nodes: unknown[]; samples: unknown[]; startTime: number; endTime: number };
    expect(profile.nodes.length).toBeGreaterThan(1);
    expect(profile.samples.length).toBeGreaterThan(0);
    expect(profile.endTime - profile.startTime).toBeGreaterThanOrEqual(1_000_000); // microseconds
  });

  it('streams a heap snapshot as a download', async () => {
    const res = await post('/admin/debug/heap-snapshot', ADMIN_TOKEN);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-disposition')).toMatch(/^attachment; filename="gateway-\d+\.heapsnapshot"$/);
    // the first bytes only: a test process's heap is larger than one string can hold
    const reader = res.body!.getReader();
    const first = await reader.read();
    await reader.cancel();
    expect(Buffer.from(first.value).toString('utf8')).toMatch(/^\{"snapshot":\{"meta":\{"node_fields":/);
  });
});
