/**
 * Heap snapshots and CPU profiles through the admin API (role admin:debug), and the leak check:
 * two snapshots taken under steady load through an SDK client, compared by heap-diff (the built
 * CLI), name the constructor whose instances the test keeps piling up between them, with their
 * number.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectGateway, type GatewayConnection } from '../../gateway/client/connect';
import { groups } from '../../gateway/admin/heap-diff';
import { ROOT } from '../containers/support/docker';
import { ADMIN_TOKEN } from '../helpers/admin';
import { newMarker, startTestGateway, type TestGateway } from '../helpers/gateway';
import { waitForNoProcesses } from '../helpers/processes';
import { scripted } from '../helpers/scripted';
import { testSecret } from '../helpers/secret-values';

jest.setTimeout(120_000);

const READER = testSecret('profiling-reader-key-0123456789abcdefghijkl', 'admin:read key of profiling.test.ts');
const AGENT = testSecret('profiling-agent-key-0123456789abcdefghijklm', 'client key of profiling.test.ts');
const HEAP_DIFF = join(ROOT, 'dist', 'gateway', 'admin', 'heap-diff.js');

/** What the test keeps between the two snapshots: the leak the check must find. */
class LeakProbe {
  constructor(readonly n: number) {}
}

describe('profiling the running gateway', () => {
  const marker = newMarker();
  let gw: TestGateway;
  let agent: GatewayConnection;
  let dir: string;

  const post = (path: string, token?: string) => fetch(`${gw.url}${path}`, { method: 'POST', headers: token ? { authorization: `Bearer ${token}` } : {} });

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'mcp-fleet-heap-'));
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
    rmSync(dir, { recursive: true, force: true });
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

  it('finds what piles up between two heap snapshots taken under steady load', async () => {
    const snapshot = async (name: string) => {
      const res = await post('/admin/debug/heap-snapshot', ADMIN_TOKEN);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-disposition')).toMatch(/^attachment; filename="gateway-\d+\.heapsnapshot"$/);
      const text = await res.text();
      const file = join(dir, name);
      writeFileSync(file, text);
      return { file, text };
    };
    const load = async (calls: number) => {
      for (let i = 0; i < calls; i++) await agent.client.callTool({ name: 'notes__echo', arguments: { text: `call ${i}` } });
    };
    await load(50); // warm: what the first calls allocate once is not growth
    const before = await snapshot('before.heapsnapshot');
    expect(groups(before.text).get('LeakProbe')?.count ?? 0).toBe(0);

    const kept: LeakProbe[] = [];
    for (let round = 0; round < 10; round++) {
      await load(20);
      for (let i = 0; i < 2_000; i++) kept.push(new LeakProbe(i));
    }
    const after = await snapshot('after.heapsnapshot');

    const report = execFileSync(process.execPath, [HEAP_DIFF, before.file, after.file, '--top', '5'], { encoding: 'utf8' });
    const lines = report.trim().split('\n');
    expect(lines[0]).toMatch(/^heap: [\d.]+ MiB in \d+ objects, then [\d.]+ MiB in \d+ \([+-][\d.-]+ MiB\)$/);
    const probe = lines.find((l) => / LeakProbe /.test(l));
    expect(probe).toMatch(/^ {2}\+\d+ B {2}\+20000 {2}LeakProbe {2}\(now 20000, /);
    expect(kept.length).toBe(20_000);

    // bad input: a file that is no snapshot, and no files at all
    writeFileSync(join(dir, 'not.heapsnapshot'), '{"nodes": 1}');
    expect(() => execFileSync(process.execPath, [HEAP_DIFF, join(dir, 'not.heapsnapshot'), after.file], { stdio: 'pipe' })).toThrow(/not a V8 heap snapshot/);
    expect(() => execFileSync(process.execPath, [HEAP_DIFF], { stdio: 'pipe' })).toThrow(/usage: heap-diff/);
  });
});
