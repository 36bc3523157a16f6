/**
 * scripts/mcp-debug.sh's subcommands against a real gateway process (the CLI, with a real admin
 * token and a scripted stdio server): sessions, pools, registry, health and upstreams print what
 * the gateway says; heap writes a file that scripts/heap-diff.js reads as a V8 heap snapshot;
 * profile writes a .cpuprofile; leak-check under a steady load of SDK calls prints its summary in
 * its format. A leak cannot be caused in the gateway without a hook in it, so the diff's leak
 * verdict is tested on real snapshots of a plain node process that keeps objects of a named class
 * between them (v8.writeHeapSnapshot), beside one that allocates as many and lets them go.
 * Refusals (401, 403, 404) and bad arguments exit with the documented codes and say why.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectGateway } from '../../gateway/client/connect';
import { ROOT } from '../containers/support/docker';
import { newMarker, startTestGateway, type TestGateway } from '../helpers/gateway';
import { spawnGateway, stopGatewayProcess, type GatewayProcess } from '../helpers/gateway-process';
import { waitForNoProcesses } from '../helpers/processes';
import { scripted } from '../helpers/scripted';
import { testSecret } from '../helpers/secret-values';
import { waitFor } from '../helpers/wait';

const ADMIN_TOKEN = testSecret('debug-tools-admin-token-0123456789abcdefgh');
const READER_KEY = testSecret('debug-tools-reader-key-0123456789abcdefghi');
const CLIENT_KEY = testSecret('debug-tools-client-key-0123456789abcdefghi');
const SCRIPT = join(ROOT, 'scripts', 'mcp-debug.sh');
const HEAP_DIFF = join(ROOT, 'scripts', 'heap-diff.js');
const marker = newMarker();
let gw: GatewayProcess;
let dir: string;

jest.setTimeout(120_000);

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'mcp-debug-tools-'));
  const keys = [
    { name: 'client', key: CLIENT_KEY },
    { name: 'reader', key: READER_KEY, roles: ['admin:read'] }, // short of admin:debug
  ];
  gw = await spawnGateway({ admin: { token: ADMIN_TOKEN }, auth: { apiKeys: { keys } }, servers: { s: scripted(marker, ['--tools', 'echo']) } }, marker);
});

afterAll(async () => {
  if (gw) await stopGatewayProcess(gw);
  rmSync(dir, { recursive: true, force: true });
  expect(await waitForNoProcesses(marker)).toEqual([]);
});

interface Run {
  code: number;
  out: string;
  err: string;
}

/** Runs a command to its end (killed after a minute, so a hang fails here): exit code, stdout, stderr. */
function run(file: string, args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(file, args, { env: { ...process.env, ...env }, maxBuffer: 16 * 1024 * 1024, timeout: 60_000 }, (error, out, err) =>
      resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, out, err }),
    );
  });
}

const debug = (args: string[], token: string = ADMIN_TOKEN, url = gw.url) =>
  run('bash', [SCRIPT, '--url', url, ...args], { MCP_FLEET_ADMIN_TOKEN: token, MCP_FLEET_ADMIN_TOKEN_FILE: '' });
const heapDiff = (args: string[]) => run(process.execPath, [HEAP_DIFF, ...args]);
const client = () => connectGateway(gw.url, 'streamable-http', { headers: { authorization: `Bearer ${CLIENT_KEY}` } });

test('--help lists the subcommands and the exit codes', async () => {
  const { code, out } = await debug(['--help']);
  expect(code).toBe(0);
  for (const sub of ['stream', 'sessions', 'pools', 'registry', 'health', 'upstreams', 'heap FILE', 'profile SECONDS FILE', 'leak-check'])
    expect(out).toContain(sub);
  expect(out).toContain('Exit codes: 0 done');
  // anywhere on the line: `heap --help` is help, not a file named --help
  expect(await debug(['heap', '--help'])).toEqual({ code: 0, out, err: '' });
});

test('registry, upstreams, health, pools and sessions print what the gateway says', async () => {
  const registry = await debug(['registry']);
  expect(registry).toMatchObject({ code: 0, err: '' });
  expect(registry.out).toMatch(/^s {2}mode=shared state=ready backends=1 tools=1$/m);
  expect(registry.out).toMatch(/^ {2}primary {2}stdio .*node {2}weight=100 state=ready tools=1$/m);
  expect(registry.out).toContain('tools: s__echo');

  const upstreams = await debug(['upstreams']);
  expect(upstreams.code).toBe(0);
  expect(upstreams.out.split('\n')[0]).toMatch(/^server\/backend +state +health +connected lost failed +breaker$/);
  expect(upstreams.out).toMatch(/^s\/primary +ready +healthy +1 +0 +0 +-/m);

  const health = await debug(['health']);
  expect(health.code).toBe(0);
  expect(health.out).toMatch(/^status ready\ns {2}state=up required=true\n {2}primary {2}state=ready health=healthy\n$/);

  expect(await debug(['pools'])).toMatchObject({ code: 0, out: 'no container pools (no per-session docker backend has one)\n' });

  expect((await debug(['sessions'])).out).toBe('no open client sessions\n');
  const first = await client();
  const second = await connectGateway(gw.url, 'websocket', { name: 'debug-ws', version: '3.1.0', headers: { authorization: `Bearer ${CLIENT_KEY}` } });
  try {
    const sessions = await debug(['sessions']);
    expect(sessions).toMatchObject({ code: 0, err: '' });
    const lines = sessions.out.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^id +front +version +client +principal +idle in-flight subs$/);
    // by front, whatever order their activity put them in
    const byFront = (line: string) => line.split(/ +/)[1];
    expect(lines.slice(1).sort((a, b) => byFront(a).localeCompare(byFront(b)))).toEqual([
      expect.stringMatching(/^[0-9a-f-]{8}… +streamable-http +\d{4}-\d{2}-\d{2} +mcp-fleet-client \S+ +api-key:client +\d+s +0 +0$/),
      expect.stringMatching(/^[0-9a-f-]{8}… +websocket +\d{4}-\d{2}-\d{2} +debug-ws 3\.1\.0 +api-key:client +\d+s +0 +0$/),
    ]);
    const ws = await debug(['sessions', 'front=websocket', 'limit=1']);
    expect(ws.out).toMatch(/^id .*\n\S+ +websocket .*\n$/);
    const cut = await debug(['sessions', 'limit=1']);
    expect(cut.out.trimEnd().split('\n')).toEqual([expect.stringMatching(/^id /), expect.any(String), '1 of 2 sessions shown (limit=1)']);
    expect(await debug(['sessions', 'principal=api-key:nobody'])).toMatchObject({ code: 0, out: 'no open client sessions\n' });
    expect(await debug(['sessions', 'front=pigeon'])).toEqual({
      code: 5,
      out: '',
      err: expect.stringMatching(/^mcp-debug: GET \/admin\/sessions: HTTP 400: front takes one of streamable-http, sse, websocket, stdio \(got "pigeon"\)\n$/),
    });
    expect(await debug(['sessions', 'websocket'])).toMatchObject({
      code: 2,
      err: expect.stringContaining("sessions takes filters as name=value (principal=, front=, limit=), not 'websocket'"),
    });
  } finally {
    await first.close();
    await second.close();
  }
});

test('heap writes a V8 heap snapshot to the file; profile writes a .cpuprofile', async () => {
  const file = join(dir, 'gw.heapsnapshot');
  const heap = await debug(['heap', file]);
  expect(heap.code).toBe(0);
  const size = statSync(file).size;
  expect(heap.out).toContain(`wrote ${file} (${size} bytes)`);
  const summary = await heapDiff(['--summary', file]);
  expect(summary.code).toBe(0);
  expect(summary.out).toContain(`${file}: V8 heap snapshot, node_fields type,name,id,self_size,edge_count`);
  const nodes = Number(/^nodes (\d+), self size /m.exec(summary.out)?.[1]);
  expect(nodes).toBeGreaterThan(10_000);

  const profileFile = join(dir, 'gw.cpuprofile');
  const profile = await debug(['profile', '1', profileFile]);
  expect(profile.code).toBe(0);
  expect(profile.out).toContain(`wrote ${profileFile}`);
  const cpu = JSON.parse(readFileSync(profileFile, 'utf8'));
  expect(cpu.nodes.length).toBeGreaterThan(0);
  expect(cpu.nodes[0]).toMatchObject({ id: expect.any(Number), callFrame: expect.objectContaining({ functionName: expect.any(String) }) });
  expect(cpu.endTime).toBeGreaterThan(cpu.startTime);
});

test('leak-check under a steady load of SDK calls prints the heap growth, the top constructors and a verdict', async () => {
  const { client: c, close } = await client();
  let calls = 0;
  let failures = 0;
  let loading = true;
  const load = (async () => {
    while (loading) {
      await c.callTool({ name: 's__echo', arguments: { text: `call ${calls}` } }).then(
        () => calls++,
        () => failures++,
      );
    }
  })();
  try {
    await waitFor(() => calls >= 10, 'the load to run');
    const check = await debug(['leak-check', '--interval', '1', '--rounds', '2']);
    const during = calls;
    const lines = check.out.trimEnd().split('\n');
    const rows = lines.slice(2, -1);
    expect(rows.length).toBeGreaterThan(0);
    expect(rows.length).toBeLessThanOrEqual(15);
    // whatever the gateway's heap did, the exit code says what the verdict says
    const verdict =
      check.code === 0
        ? /^verdict: no constructor grew in all 2 rounds by 64\.0 KiB or more$/
        : /^verdict: growth persists across all 2 rounds in \d+ constructors?: /;
    // one assertion over all of it, so a failure shows the whole output
    expect({ code: check.code, err: check.err, lines }).toEqual({
      code: check.code === 0 ? 0 : 1,
      err: expect.stringMatching(/^snapshot 0\/2: \d+ bytes\nsnapshot 1\/2: \d+ bytes\nsnapshot 2\/2: \d+ bytes\n$/),
      lines: [
        expect.stringMatching(/^heap growth over 2 rounds of 1s: [+ -]\S+ (B|KiB|MiB) self size \(\S+ (B|KiB|MiB) → \S+ (B|KiB|MiB)\), [+ -]?\d+ objects$/),
        expect.stringMatching(/^constructor +count Δ +self size Δ {2}grew in$/),
        ...rows.map(() => expect.stringMatching(/^.{40} +[+ -]?\d+ +[+ -]\S+ (B|KiB|MiB) {2}[0-2]\/2( {2}persistent)?$/)),
        expect.stringMatching(verdict),
      ],
    });
    await waitFor(() => calls > during, 'calls to go on after the check');
    expect(failures).toBe(0);
  } finally {
    loading = false;
    await load;
    await close();
  }
});

/** A plain node process writing three heap snapshots, doing `between` after the first and the second. */
async function snapshotsOf(name: string, between: string): Promise<string[]> {
  const files = [0, 1, 2].map((i) => join(dir, `${name}-${i}.heapsnapshot`));
  const program = `
    const v8 = require('node:v8');
    class LeakedWidget { constructor(i) { this.i = i; this.label = 'widget'; } }
    const kept = [];
    const files = ${JSON.stringify(files)};
    v8.writeHeapSnapshot(files[0]);
    ${between}
    v8.writeHeapSnapshot(files[1]);
    ${between}
    v8.writeHeapSnapshot(files[2]);
    globalThis.kept = kept;`;
  expect(await run(process.execPath, ['-e', program])).toMatchObject({ code: 0 });
  return files;
}

test('the diff flags objects a process keeps between snapshots, with their count and size, and not ones it lets go', async () => {
  const leaking = await snapshotsOf('leaking', 'for (let i = 0; i < 4000; i++) kept.push(new LeakedWidget(i));');
  const leak = await heapDiff(['--interval', '1', ...leaking]);
  expect(leak.code).toBe(1);
  const row = leak.out.split('\n').find((l) => l.startsWith('LeakedWidget '));
  expect(row).toMatch(/^LeakedWidget +\+8000 +\+\d+\.\d KiB {2}2\/2 {2}persistent$/);
  expect(leak.out).toMatch(/^verdict: growth persists across all 2 rounds in \d+ constructors?: .*LeakedWidget/m);

  const steady = await snapshotsOf('steady', 'for (let i = 0; i < 4000; i++) new LeakedWidget(i);');
  const none = await heapDiff([...steady]);
  expect(none.code).toBe(0);
  expect(none.out).not.toMatch(/^LeakedWidget/m);
  expect(none.out).toMatch(/^verdict: no constructor grew in all 2 rounds by 64.0 KiB or more$/m);
});

test('heap-diff refuses what is no heap snapshot, and one snapshot', async () => {
  const profileLike = join(dir, 'like.cpuprofile');
  writeFileSync(profileLike, JSON.stringify({ nodes: [{ id: 1 }], startTime: 0, endTime: 1 }));
  const notSnapshot = await heapDiff(['--summary', profileLike]);
  expect(notSnapshot).toMatchObject({ code: 3, err: `heap-diff: ${profileLike}: not a V8 heap snapshot (its header before "nodes" is not JSON)\n` });
  const one = await heapDiff([profileLike]);
  expect(one).toMatchObject({ code: 2, err: expect.stringContaining('compare two snapshots or more') });
});

test('a wrong token, a role short of admin:debug, no admin API, and bad arguments exit with their codes and say why', async () => {
  const wrong = await debug(['registry'], testSecret('debug-tools-wrong-token-0123456789abcdefgh'));
  expect(wrong.code).toBe(3);
  expect(wrong.err).toMatch(/^mcp-debug: GET \/admin\/servers: HTTP 401: the bearer credential is not valid/);

  const file = join(dir, 'refused.heapsnapshot');
  const reader = await debug(['heap', file], READER_KEY);
  expect(reader.code).toBe(3);
  expect(reader.err).toMatch(/^mcp-debug: POST \/admin\/debug\/heap-snapshot: HTTP 403: .*admin:debug/);
  expect(() => statSync(file)).toThrow();
  expect(() => statSync(`${file}.part`)).toThrow();

  const noAdminMarker = newMarker();
  const noAdmin: TestGateway = await startTestGateway({ servers: { s: scripted(noAdminMarker, ['--tools', 'echo']) } }, noAdminMarker);
  try {
    const notFound = await debug(['pools'], ADMIN_TOKEN, noAdmin.url);
    expect(notFound.code).toBe(4);
    expect(notFound.err).toMatch(/^mcp-debug: GET \/admin\/pools: HTTP 404: /);
  } finally {
    await noAdmin.stop();
  }
  expect(await waitForNoProcesses(noAdminMarker)).toEqual([]);

  const unknown = await debug(['frobnicate']);
  expect(unknown.code).toBe(2);
  expect(unknown.err).toContain("mcp-debug: unknown subcommand 'frobnicate' (stream, sessions, pools, registry, health, upstreams, heap, profile, leak-check)");
  expect(unknown.err).toContain("run 'mcp-debug.sh --help'");
  expect(await debug(['heap'])).toMatchObject({ code: 2, err: expect.stringContaining('heap takes one argument') });
  expect(await debug(['profile', 'soon', file])).toMatchObject({
    code: 2,
    err: expect.stringContaining("profile SECONDS must be a whole number (1-60), not 'soon'"),
  });
  expect(await debug(['leak-check', '--rounds', '0'])).toMatchObject({
    code: 2,
    err: expect.stringContaining("--rounds takes a whole number of 1 or more, not '0'"),
  });
  expect(await debug(['registry', 'extra'])).toMatchObject({ code: 2, err: expect.stringContaining("registry takes no arguments (got 'extra')") });
  const unreachable = await debug(['registry'], ADMIN_TOKEN, 'http://127.0.0.1:1');
  expect(unreachable.code).toBe(5);
  expect(unreachable.err).toContain('no answer (is the gateway running there?');
});
