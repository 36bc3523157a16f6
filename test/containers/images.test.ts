/**
 * The images on their own: labels and runtime user; mcp-fleet/mcp-server as a stdio server through
 * docker/mcp-stdio-wrapper.sh, driven by the official SDK client over `docker run -i` (stdout
 * carries only the protocol, stderr the wrapper's and the server's messages); the wrapper forwards
 * TERM and INT to its child, even as PID 1, and exits with the child's code.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import {
  docker,
  GATEWAY_IMAGE,
  HAPROXY_IMAGE,
  inspect,
  REDIS_IMAGE,
  requireEngineAndImages,
  ROOT,
  SERVER_IMAGE,
  sh,
  TEMPORAL_IMAGE,
  TEST_LABEL,
  uniqueName,
} from './support/docker';
import { SEARCH_ATTRIBUTES } from '../../pipeline/temporal-server';
import { text } from './support/mcp';
import { waitFor } from '../helpers/wait';

jest.setTimeout(120_000);

const runId = uniqueName('images');
const label = `${TEST_LABEL}=${runId}`;
const HARDENED = ['--read-only', '--tmpfs', '/tmp', '--cap-drop', 'ALL', '--security-opt', 'no-new-privileges', '--network', 'none'];

/** `docker run ARGS` with `input` on stdin; resolves with stdout, stderr and the exit code. */
function dockerRun(args: string[], input = ''): Promise<{ stdout: string; stderr: string; code: number | null }> {
  return new Promise((resolve, reject) => {
    const child = spawn('docker', ['run', '-i', '--rm', '--label', label, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ stdout, stderr, code }));
    child.stdin.end(input);
  });
}

async function leftovers(): Promise<string[]> {
  return (await docker('ps', '-a', '-q', '--filter', `label=${label}`)).split('\n').filter(Boolean);
}

beforeAll(() => requireEngineAndImages());

afterAll(async () => {
  const ids = await leftovers();
  if (ids.length > 0) await docker('rm', '-f', ...ids);
  expect(ids).toEqual([]);
});

describe('image metadata', () => {
  const version = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version as string;

  it.each([GATEWAY_IMAGE, SERVER_IMAGE])('%s runs as uid 10001, has a health check and OCI labels, and is tagged with the version', async (image) => {
    const img = await inspect(image);
    expect(img.Config.User).toBe('10001:10001');
    expect(img.Config.Healthcheck.Test).toEqual(['CMD', '/usr/local/bin/health-check.sh']);
    expect(img.Config.ExposedPorts).toHaveProperty(['8080/tcp']);
    const labels = img.Config.Labels as Record<string, string>;
    expect(labels['org.opencontainers.image.version']).toBe(version);
    expect(labels['org.opencontainers.image.title']).toMatch(/^mcp-fleet /);
    expect(labels['org.opencontainers.image.revision']).toBeTruthy();
    expect(labels['org.opencontainers.image.base.name']).toBeTruthy();
    const name = image.split(':')[0];
    expect((await inspect(`${name}:${version}`)).Id).toBe(img.Id);
  });
});

describe('mcp-fleet/temporal', () => {
  const version = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version as string;

  it("runs the dev server as uid 10001 on 0.0.0.0 with SQLite in /data, the pipeline's search attributes, and a health check", async () => {
    const img = await inspect(TEMPORAL_IMAGE);
    expect(img.Config.User).toBe('10001:10001');
    expect(img.Config.Healthcheck.Test).toEqual(['CMD', 'temporal', 'operator', 'cluster', 'health', '--address', '127.0.0.1:7233', '--command-timeout', '3s']);
    expect(Object.keys(img.Config.ExposedPorts).sort()).toEqual(['7233/tcp', '8233/tcp']);
    const cmd = (img.Config.Cmd as string[]).join(' ');
    expect(cmd).toMatch(/^temporal server start-dev .*--ip 0\.0\.0\.0 .*--db-filename \/data\/temporal\.db/);
    // the same search attributes a dev server started by the CLI registers (pipeline/temporal-server.ts)
    for (const [name, type] of Object.entries(SEARCH_ATTRIBUTES)) expect(cmd).toContain(`--search-attribute ${name}=${type}`);
    expect(img.Config.Labels['org.opencontainers.image.version']).toBe(version);
    expect(img.Config.Labels['io.mcp-fleet.temporal-cli.version']).toMatch(/^\d+\.\d+\.\d+/);
    expect((await inspect(`mcp-fleet/temporal:${version}`)).Id).toBe(img.Id);
  });
});

describe("mcp-fleet/haproxy and mcp-fleet/redis (the build host's binaries with their own libraries)", () => {
  const version = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version as string;

  it.each([
    [HAPROXY_IMAGE, ['CMD', '/usr/local/bin/health-check.sh'], '8080/tcp', 'io.mcp-fleet.haproxy.version'],
    [REDIS_IMAGE, ['CMD', '/usr/local/bin/redis-cli', '-p', '6379', 'ping'], '6379/tcp', 'io.mcp-fleet.redis.version'],
  ])('%s runs as uid 10001, has a health check and OCI labels with the packaged version', async (image, healthcheck, port, versionLabel) => {
    const img = await inspect(image);
    expect(img.Config.User).toBe('10001:10001');
    expect(img.Config.Healthcheck.Test).toEqual(healthcheck);
    expect(Object.keys(img.Config.ExposedPorts)).toEqual([port]);
    expect(img.Config.Labels['org.opencontainers.image.version']).toBe(version);
    expect(img.Config.Labels[versionLabel]).toMatch(/^\d+\.\d+\.\d+/);
    expect((await inspect(`${image.split(':')[0]}:${version}`)).Id).toBe(img.Id);
  });

  it('haproxy checks its baked-in mcp-lb.cfg, and redis answers its own client, each hardened on its base', async () => {
    const check = await dockerRun([...HARDENED, '--user', '10001:10001', HAPROXY_IMAGE, '-c', '-f', '/usr/local/etc/haproxy/mcp-lb.cfg']);
    expect({ code: check.code, out: check.stdout + check.stderr }).toEqual({ code: 0, out: expect.stringContaining('Configuration file is valid') });
    const redis = await dockerRun([
      ...HARDENED,
      '--entrypoint',
      'sh',
      REDIS_IMAGE,
      '-c',
      'redis-server --port 6390 --save "" >/dev/null & until redis-cli -p 6390 ping; do sleep 0.1; done; redis-cli -p 6390 set k v >/dev/null; redis-cli -p 6390 get k; redis-cli -p 6390 shutdown nosave',
    ]);
    expect({ code: redis.code, out: redis.stdout.trim().split('\n').slice(-1)[0] }).toEqual({ code: 0, out: 'v' });
  });
});

describe('mcp-stdio-wrapper.sh in mcp-fleet/mcp-server', () => {
  it.each([
    ['memory', 'create_entities'],
    ['filesystem', 'list_allowed_directories'],
    ['everything', 'echo'],
  ])('serves %s over stdio to the SDK client through docker run -i', async (server, tool) => {
    const name = uniqueName(`stdio-${server}`);
    const transport = new StdioClientTransport({
      command: 'docker',
      args: ['run', '-i', '--rm', '--init', '--name', name, '--label', label, ...HARDENED, SERVER_IMAGE, 'mcp-stdio-wrapper.sh', server],
      env: process.env as Record<string, string>,
      stderr: 'pipe',
    });
    let stderr = '';
    transport.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
    const client = new Client({ name: 'stdio-test', version: '1.0.0' });
    const garbage: Error[] = [];
    client.onerror = (err) => garbage.push(err);
    await client.connect(transport);
    try {
      const { tools } = await client.listTools();
      expect(tools.map((t) => t.name)).toContain(tool);
      if (server === 'everything') {
        expect(text(await client.callTool({ name: 'echo', arguments: { message: 'through the wrapper' } }))).toContain('through the wrapper');
      }
      // the wrapper is the container's main process: the health check watches it, not a port
      if (server === 'memory') {
        await waitFor(async () => (await inspect(name)).State.Health?.Status === 'healthy', 'the stdio container to be healthy', 30_000);
      }
    } finally {
      await client.close();
    }
    expect(stderr).toContain(`mcp-stdio-wrapper: started ${server}`);
    expect(garbage).toEqual([]); // every stdout line was a JSON-RPC message
    await waitFor(async () => (await sh('docker', ['inspect', name])).code !== 0, `container ${name} to be removed`, 30_000);
  });

  it('pipes stdin to the child, keeps its stdout clean and its stderr separate', async () => {
    const r = await dockerRun([SERVER_IMAGE, 'mcp-stdio-wrapper.sh', '--', 'sh', '-c', 'read line; echo "got $line"; echo "to stderr" >&2'], 'hello\n');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('got hello\n');
    expect(r.stderr).toContain('to stderr');
    expect(r.stderr).toContain('mcp-stdio-wrapper: started sh');
  });

  it('exits with the exit code of its child', async () => {
    const r = await dockerRun([SERVER_IMAGE, 'mcp-stdio-wrapper.sh', '--', 'sh', '-c', 'exit 3']);
    expect(r.code).toBe(3);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('exited with status 3');
  });

  it('refuses an unknown server with a usage message, exit code 64 and nothing on stdout', async () => {
    const r = await dockerRun([SERVER_IMAGE, 'mcp-stdio-wrapper.sh', 'no-such-server']);
    expect(r.code).toBe(64);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain("unknown server 'no-such-server'");
    expect(r.stderr).toContain('usage: mcp-stdio-wrapper.sh memory|filesystem|everything');
  });

  it.each([
    // each child says "child ready" once its handler is installed
    ['TERM', ['sh', '-c', 'trap "echo child got TERM >&2; exit 7" TERM; echo child ready >&2; while :; do sleep 0.1; done'], 7],
    [
      'INT',
      [
        'node',
        '-e',
        'process.on("SIGINT", () => { console.error("child got INT"); process.exit(9); }); console.error("child ready"); setInterval(() => {}, 1000);',
      ],
      9,
    ],
  ])("forwards SIG%s to its child as PID 1 and exits with the child's code", async (signal, command, code) => {
    const name = uniqueName(`signal-${signal.toLowerCase()}`);
    // no --init: the wrapper itself is PID 1, where the kernel delivers only handled signals
    await docker('run', '-d', '--name', name, '--label', label, ...HARDENED, SERVER_IMAGE, 'mcp-stdio-wrapper.sh', '--', ...command);
    try {
      await waitFor(async () => (await sh('docker', ['logs', name])).stderr.includes('child ready'), 'the child to install its handler');
      if (signal === 'TERM') await docker('stop', '-t', '20', name);
      else await docker('kill', '-s', signal, name);
      await waitFor(async () => (await inspect(name)).State.Status === 'exited', `${name} to exit`);
      expect((await inspect(name)).State.ExitCode).toBe(code);
      const logs = await sh('docker', ['logs', name]);
      expect(logs.stdout).toBe('');
      expect(logs.stderr).toContain(`forwarding SIG${signal}`);
      expect(logs.stderr).toContain(`child got ${signal}`);
      expect(logs.stderr).toContain(`exited with status ${code}`);
    } finally {
      await docker('rm', '-f', name);
    }
  });
});
