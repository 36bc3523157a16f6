import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfigFile, parseConfig } from './load';
import { FleetError } from '../protocol/errors';

function problemsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(FleetError);
    expect((err as FleetError).code).toBe('CONFIG_INVALID');
    return (err as FleetError).data!.problems as string[];
  }
  throw new Error('expected the config to be refused');
}

describe('config loading', () => {
  it('accepts a Claude Desktop mcpServers file unchanged, ignoring client-only keys', () => {
    const config = parseConfig(
      {
        mcpServers: {
          memory: { command: 'npx', args: ['-y', '@modelcontextprotocol/server-memory'], env: { A: '1' }, autoApprove: ['x'], alwaysAllow: [], timeout: 60 },
          remote: { type: 'sse', url: 'http://127.0.0.1:9000/sse' },
          vscode: { type: 'http', url: 'http://127.0.0.1:9001/mcp', headers: { Authorization: 'Bearer t' } },
          off: { command: 'x', disabled: true },
        },
      },
      'claude_desktop_config.json',
    );
    expect(config.servers.map((s) => s.name)).toEqual(['memory', 'remote', 'vscode']);
    const [memory, remote, vscode] = config.servers;
    expect(memory).toMatchObject({ kind: 'stdio', command: 'npx', args: ['-y', '@modelcontextprotocol/server-memory'], env: { A: '1' }, mode: 'shared' });
    expect(remote).toMatchObject({ kind: 'remote', transport: 'sse' });
    expect(vscode).toMatchObject({ kind: 'remote', transport: 'streamable-http', headers: { Authorization: 'Bearer t' } });
    expect(config.listen).toBe('127.0.0.1:8080');
  });

  it('infers the remote transport from the URL when none is given', () => {
    const config = parseConfig({ servers: { a: { url: 'ws://127.0.0.1:1/ws' }, b: { url: 'http://h/sse' }, c: { url: 'http://h/mcp' } } }, 't');
    expect(config.servers.map((s) => (s.kind === 'remote' ? s.transport : ''))).toEqual(['websocket', 'sse', 'streamable-http']);
  });

  it('names the file, the field path and the problem for every mistake at once', () => {
    const problems = problemsOf(() =>
      parseConfig({ listen: 'nope', servers: { a: { command: 'x', args: 'not-a-list' }, b: { url: 'not a url' }, c: { comand: 'typo' } } }, 'fleet.yaml'),
    );
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^listen: expected HOST:PORT/),
        expect.stringMatching(/^servers\.a\.args: /),
        expect.stringMatching(/^servers\.b\.url: /),
        expect.stringMatching(/^servers\.c: needs "command"/),
      ]),
    );
    try {
      parseConfig({ servers: { a: { command: 'x', args: 'y' } } }, 'fleet.yaml');
    } catch (err) {
      expect((err as Error).message).toContain('invalid config fleet.yaml');
      expect((err as Error).message).toContain('servers.a.args');
    }
  });

  it('refuses unknown keys in the gateway format, so typos do not pass silently', () => {
    expect(problemsOf(() => parseConfig({ servers: { a: { command: 'x', mdoe: 'shared' } } }, 't'))).toEqual([expect.stringMatching(/^servers\.a: .*mdoe/)]);
  });

  it("takes each server's protocol generation (auto by default) and probe timeout, and names a bad one by field", () => {
    const config = parseConfig({ servers: { a: { command: 'x' }, b: { url: 'http://h/mcp', protocol: '2026-07-28', probeTimeoutMs: 250 } } }, 't');
    expect(config.servers.map((s) => [s.protocol, s.probeTimeoutMs])).toEqual([
      ['auto', 5000],
      ['2026-07-28', 250],
    ]);
    expect(problemsOf(() => parseConfig({ servers: { a: { command: 'x', protocol: '2026' }, b: { command: 'y', probeTimeoutMs: 0 } } }, 't'))).toEqual([
      expect.stringMatching(/^servers\.a\.protocol: .*"auto".*"2025-11-25".*"2026-07-28"/),
      expect.stringMatching(/^servers\.b\.probeTimeoutMs: /),
    ]);
  });

  it("takes the gateway's limits and each server's, with defaults, and names a bad one by field", () => {
    const config = parseConfig({ limits: { maxSessions: 5 }, servers: { a: { command: 'x', limits: { maxDepth: 32 } } } }, 't');
    expect(config.limits).toMatchObject({ maxSessions: 5, maxJsonDepth: 128, sendQueueBytes: 16 * 1024 * 1024, maxPendingPerSession: 1000 });
    expect(config.servers[0].limits).toEqual({ maxMessageBytes: 128 * 1024 * 1024, maxDepth: 32, maxSessions: 64, maxQueued: 100, queueTimeoutMs: 10_000 });
    expect(
      problemsOf(() => parseConfig({ limits: { maxJsonDepth: 1, sendQueue: 1 }, servers: { a: { command: 'x', limits: { maxMessageBytes: 0 } } } }, 't')),
    ).toEqual([
      expect.stringMatching(/^limits\.maxJsonDepth: /),
      expect.stringMatching(/^limits: .*sendQueue/),
      expect.stringMatching(/^servers\.a\.limits\.maxMessageBytes: /),
    ]);
  });

  it("takes each server's health check thresholds and whether readiness requires it, with defaults that keep older files valid, and names a bad one by field", () => {
    const config = parseConfig(
      {
        servers: {
          a: { command: 'x', healthCheck: { intervalMs: 1000, timeoutMs: 500 } },
          b: { command: 'y', required: false, healthCheck: { unhealthyThreshold: 5 } },
        },
      },
      't',
    );
    expect(config.servers.map((s) => [s.healthCheck, s.required])).toEqual([
      [{ intervalMs: 1000, timeoutMs: 500, unhealthyThreshold: 3, healthyThreshold: 2 }, true],
      [{ intervalMs: 15_000, timeoutMs: 5000, unhealthyThreshold: 5, healthyThreshold: 2 }, false],
    ]);
    expect(
      problemsOf(() =>
        parseConfig(
          { servers: { a: { command: 'x', healthCheck: { unhealthyThreshold: 0, healthyTreshold: 2 } }, b: { command: 'y', required: 'yes' } } },
          't',
        ),
      ),
    ).toEqual([
      expect.stringMatching(/^servers\.a\.healthCheck\.unhealthyThreshold: /),
      expect.stringMatching(/^servers\.a\.healthCheck: .*healthyTreshold/),
      expect.stringMatching(/^servers\.b\.required: /),
    ]);
  });

  it('takes a breaker, retries, timeouts and balancing per server (none, weighted by default), and names a bad one by field', () => {
    const config = parseConfig(
      {
        servers: {
          a: { command: 'x', breaker: { consecutive: 3 }, retry: { attempts: 2, idempotentTools: ['search'] }, timeouts: { tools: { slow: 500 } } },
          b: { command: 'y', breaker: { sampling: { threshold: 0.5, windowMs: 10_000 }, halfOpenAfterMs: 2000 } },
          c: { command: 'z' },
        },
      },
      't',
    );
    const [a, b, c] = config.servers;
    expect([a.breaker, a.retry, a.timeouts]).toEqual([
      { consecutive: 3, halfOpenAfterMs: 10_000 },
      { attempts: 2, backoff: { initialMs: 50, maxMs: 2000 }, idempotentTools: ['search'] },
      { tools: { slow: 500 } },
    ]);
    expect(b.breaker).toEqual({ sampling: { threshold: 0.5, windowMs: 10_000 }, halfOpenAfterMs: 2000 });
    expect([c.breaker, c.retry, c.timeouts, c.balancing]).toEqual([
      undefined,
      undefined,
      { tools: {} },
      { strategy: 'weighted', affinity: 'none', inputRounds: 'same-backend' },
    ]);
    expect(
      problemsOf(() =>
        parseConfig(
          {
            servers: {
              a: { command: 'x', breaker: { consecutive: 0 } },
              b: { command: 'x', breaker: { halfOpenAfterMs: 100 } },
              c: { command: 'x', breaker: { sampling: { threshold: 2, windowMs: 10_000 } } },
              d: { command: 'x', retry: { attempts: 0, backoff: { initialMs: 500, maxMs: 100 } } },
              e: { command: 'x', timeouts: { tools: { slow: -1 } }, breaker: { consecutive: 1, halfOpenAfter: 5 } },
              f: { command: 'x', balancing: { strategy: 'fastest' } },
              g: { command: 'x', balancing: { inputRounds: 'sticky' } },
            },
          },
          't',
        ),
      ),
    ).toEqual([
      expect.stringMatching(/^servers\.a\.breaker\.consecutive: /),
      expect.stringMatching(/^servers\.b\.breaker\.consecutive: name one threshold/),
      expect.stringMatching(/^servers\.c\.breaker\.sampling\.threshold: /),
      expect.stringMatching(/^servers\.d\.retry\.attempts: /),
      expect.stringMatching(/^servers\.d\.retry\.backoff\.initialMs: initialMs must not be larger than maxMs/),
      expect.stringMatching(/^servers\.e\.breaker: .*halfOpenAfter/),
      expect.stringMatching(/^servers\.e\.timeouts\.tools\.slow: /),
      expect.stringMatching(/^servers\.f\.balancing\.strategy: .*least-outstanding/),
      expect.stringMatching(/^servers\.g\.balancing\.inputRounds: .*any-backend/),
    ]);
  });

  it('takes token exchange towards a per-session remote server, and refuses it on a shared one or with fields of the other grant', () => {
    const oauth = { grant: 'token-exchange', issuer: 'http://as.example', clientId: 'gw', clientSecret: 'gw-secret', audience: 'notes' };
    const config = parseConfig({ servers: { notes: { url: 'http://h/mcp', mode: 'per-session', oauth } } }, 't');
    expect(config.servers[0]).toMatchObject({ oauth: { ...oauth, subjectTokenType: 'urn:ietf:params:oauth:token-type:access_token' } });
    expect(
      problemsOf(() =>
        parseConfig(
          { servers: { notes: { url: 'http://h/mcp', oauth }, other: { url: 'http://h/mcp', oauth: { ...oauth, grant: 'client-credentials' } } } },
          't',
        ),
      ),
    ).toEqual([
      expect.stringMatching(/^servers\.notes\.oauth\.grant: token-exchange .* set mode: per-principal or per-session/),
      expect.stringMatching(/^servers\.other\.oauth\.audience: audience is for grant: token-exchange only/),
    ]);
  });

  it('takes a session pool on a shared Streamable HTTP server only, and names the field otherwise', () => {
    const pool = { min: 2, max: 4 };
    const config = parseConfig({ servers: { a: { url: 'http://h/mcp', pool } } }, 't');
    expect(config.servers[0]).toMatchObject({ pool: { min: 2, max: 4, maxConcurrent: 16, maxWaiters: 1000, validateIntervalMs: 30_000 } });
    expect(
      problemsOf(() =>
        parseConfig(
          {
            servers: {
              b: { url: 'http://h/mcp', mode: 'per-session', pool },
              c: { url: 'http://h/sse', pool },
              d: { url: 'http://h/mcp', pool: { min: 3, max: 2 } },
              e: { url: 'http://h/mcp', pool: { validateIntervalMs: 0 } },
            },
          },
          't',
        ),
      ),
    ).toEqual([
      expect.stringMatching(/^servers\.b\.pool: a session pool is for shared servers over Streamable HTTP/),
      expect.stringMatching(/^servers\.c\.pool: a session pool is for shared servers over Streamable HTTP/),
      expect.stringMatching(/^servers\.d\.pool\.min: min must not be larger than max/),
      expect.stringMatching(/^servers\.e\.pool\.validateIntervalMs: /),
    ]);
  });

  it('refuses servers whose prefixes collide and names both', () => {
    const problems = problemsOf(() => parseConfig({ servers: { a: { command: 'x', prefix: 'p' }, b: { command: 'y', prefix: 'p' } } }, 't'));
    expect(problems).toEqual([expect.stringContaining('prefix "p" is already used by server "a"')]);
  });

  it('refuses a name defined in both maps, a server with command and url, and an empty file', () => {
    expect(problemsOf(() => parseConfig({ servers: { a: { command: 'x' } }, mcpServers: { a: { command: 'y' } } }, 't'))).toEqual([
      expect.stringContaining('defined twice'),
    ]);
    expect(problemsOf(() => parseConfig({ servers: { a: { command: 'x', url: 'http://h' } } }, 't'))).toEqual([
      expect.stringContaining('has "command" and "url"; a server is one of'),
    ]);
    expect(problemsOf(() => parseConfig({}, 't'))).toEqual([expect.stringContaining('no servers configured')]);
  });

  it('expands ${VAR} and ${VAR:-default}, and reports a missing variable by field', () => {
    const config = parseConfig(
      { servers: { a: { url: 'http://h/mcp', headers: { Authorization: 'Bearer ${TOKEN}', X: '${MISSING:-fallback}' } } } },
      't',
      {},
      { TOKEN: 's3cret' },
    );
    expect(config.servers[0]).toMatchObject({ headers: { Authorization: 'Bearer s3cret', X: 'fallback' } });
    expect(problemsOf(() => parseConfig({ servers: { a: { command: '${NOPE}' } } }, 't', {}, {}))).toEqual(
      expect.arrayContaining([expect.stringContaining('servers.a.command: environment variable NOPE is not set')]),
    );
  });

  it('takes an optional admin token, expanded from the environment, and refuses a weak one', () => {
    const token = 'an-admin-token-0123456789-abcdefghijkl';
    expect(parseConfig({ servers: { a: { command: 'x' } } }, 't').admin).toBeUndefined();
    expect(parseConfig({ admin: { token: '${ADMIN_TOKEN}' }, servers: { a: { command: 'x' } } }, 't', {}, { ADMIN_TOKEN: token }).admin).toEqual({
      token,
      register: { commands: [], images: [], urls: [], paths: [] },
    });
    expect(problemsOf(() => parseConfig({ admin: { token: '' }, servers: { a: { command: 'x' } } }, 't'))).toEqual([
      expect.stringMatching(/^admin\.token: the admin token must have at least 32 characters/),
      expect.stringMatching(/^admin\.token: the admin token is too guessable/),
    ]);
  });

  it('takes tls for the listener: client certificates required once a client CA is named, and says which field is wrong', () => {
    const servers = { a: { command: 'x' } };
    expect(parseConfig({ servers }, 't').tls).toBeUndefined();
    expect(parseConfig({ tls: { certFile: '/c', keyFile: '/k' }, servers }, 't').tls).toEqual({ certFile: '/c', keyFile: '/k', clientCert: 'none' });
    expect(parseConfig({ tls: { certFile: '/c', keyFile: '/k', clientCaFile: '/ca' }, servers }, 't').tls?.clientCert).toBe('required');
    expect(parseConfig({ tls: { certFile: '/c', keyFile: '/k', clientCaFile: '/ca', clientCert: 'optional' }, servers }, 't').tls?.clientCert).toBe('optional');
    expect(problemsOf(() => parseConfig({ tls: { certFile: '/c' }, servers }, 't'))).toEqual([expect.stringMatching(/^tls\.keyFile: /)]);
    expect(problemsOf(() => parseConfig({ tls: { certFile: '/c', keyFile: '/k', clientCert: 'required' }, servers }, 't'))).toEqual([
      'tls.clientCaFile: clientCert: required needs clientCaFile, the CA that signs client certificates',
    ]);
    expect(problemsOf(() => parseConfig({ tls: { certFile: '/c', keyFile: '/k', clientCaFile: '/ca', clientCert: 'none' }, servers }, 't'))).toEqual([
      expect.stringMatching(/^tls\.clientCert: clientCert: none asks for no client certificate/),
    ]);
    expect(problemsOf(() => parseConfig({ tls: { certFile: '/c', keyFile: '/k', clientCert: 'sometimes' }, servers }, 't'))).toEqual([
      expect.stringMatching(/^tls\.clientCert: /),
    ]);
    expect(problemsOf(() => parseConfig({ tls: { certFile: '/c', keyFile: '/k', cafile: '/ca' }, servers }, 't'))).toEqual([
      expect.stringMatching(/^tls: Unrecognized key: "cafile"/),
    ]);
  });

  it('takes tls for https and wss servers only, and a client certificate as a pair', () => {
    const tls = { caFile: '/ca', certFile: '/c', keyFile: '/k', serverName: 'inner' };
    const config = parseConfig(
      {
        servers: { a: { url: 'https://h/mcp', tls }, b: { url: 'wss://h/ws', tls: { caFile: '/ca' } } },
        mcpServers: { c: { type: 'sse', url: 'https://h/sse', tls } },
      },
      't',
    );
    expect(config.servers.map((s) => s.kind === 'remote' && s.tls)).toEqual([tls, { caFile: '/ca' }, tls]);
    expect(problemsOf(() => parseConfig({ servers: { a: { url: 'http://h/mcp', tls: { caFile: '/ca' } } } }, 't'))).toEqual([
      'servers.a.tls: tls needs an https: or wss: url (got http:)',
    ]);
    expect(problemsOf(() => parseConfig({ servers: { a: { url: 'https://h/mcp', tls: { certFile: '/c' } } } }, 't'))).toEqual([
      'servers.a.tls.keyFile: a client certificate needs both certFile and keyFile (keyFile is missing)',
    ]);
    expect(problemsOf(() => parseConfig({ servers: { a: { command: 'x', tls: { caFile: '/ca' } } } }, 't'))).toEqual([
      expect.stringMatching(/^servers\.a: Unrecognized key: "tls"/),
    ]);
  });

  it('reads YAML and JSON files, lets --listen override the file, and names an unreadable or broken file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cfg-'));
    writeFileSync(join(dir, 'a.yaml'), 'listen: 127.0.0.1:9999\nservers:\n  m:\n    command: node\n');
    writeFileSync(join(dir, 'b.json'), JSON.stringify({ mcpServers: { m: { command: 'node' } } }));
    writeFileSync(join(dir, 'bad.yaml'), 'servers: [unclosed\n');
    expect((await loadConfigFile(join(dir, 'a.yaml'), { listen: '127.0.0.1:0' })).config.listen).toBe('127.0.0.1:0');
    expect((await loadConfigFile(join(dir, 'b.json'))).config.servers[0].name).toBe('m');
    await expect(loadConfigFile(join(dir, 'bad.yaml'))).rejects.toThrow(/bad\.yaml: not valid YAML or JSON/);
    await expect(loadConfigFile(join(dir, 'missing.yaml'))).rejects.toThrow(/cannot read config file .*missing\.yaml/);
  });
});

describe('rate limits and concurrency limits in the config', () => {
  const server = { a: { command: 'x' } };
  const rules = (...r: unknown[]) => ({ servers: server, rateLimits: { rules: r } });

  it('takes rules with defaults: per principal, a burst of one second, and no concurrency limit', () => {
    const config = parseConfig(rules({ name: 'r', requestsPerSecond: 2.5 }, { name: 's', per: ['tool', 'principal'], requestsPerSecond: 0.5 }), 't');
    expect(config.rateLimits.rules).toEqual([
      { name: 'r', per: ['principal'], requestsPerSecond: 2.5, burst: 3 },
      { name: 's', per: ['tool', 'principal'], requestsPerSecond: 0.5, burst: 1 },
    ]);
    expect(parseConfig(rules({ name: 'g', per: 'global', requestsPerSecond: 1 }), 't').rateLimits.rules[0].per).toEqual([]);
    expect(config.servers[0].limits).toMatchObject({ maxQueued: 100, queueTimeoutMs: 10_000 });
    expect(config.servers[0].limits.maxConcurrent).toBeUndefined();
  });

  it('refuses a bad rule or limit, naming the field', () => {
    expect(problemsOf(() => parseConfig(rules({ name: 'r', requestsPerSecond: -1 }), 't'))).toEqual([
      expect.stringMatching(/^rateLimits\.rules\.0\.requestsPerSecond: .*>0/),
    ]);
    expect(problemsOf(() => parseConfig(rules({ name: 'r', requestsPerSecond: 1, rps: 3 }), 't'))).toEqual([
      expect.stringMatching(/^rateLimits\.rules\.0: .*"rps"/),
    ]);
    expect(problemsOf(() => parseConfig(rules({ name: 'r', requestsPerSecond: 1, per: 'session' }), 't'))).toEqual([
      expect.stringMatching(/^rateLimits\.rules\.0\.per: /),
    ]);
    expect(problemsOf(() => parseConfig(rules({ requestsPerSecond: 1 }), 't'))).toEqual([expect.stringMatching(/^rateLimits\.rules\.0\.name: /)]);
    expect(problemsOf(() => parseConfig(rules({ name: 'r', requestsPerSecond: 1 }, { name: 'r', requestsPerSecond: 2 }), 't'))).toEqual([
      expect.stringMatching(/^rateLimits\.rules\.1\.name: rule name "r" is used twice/),
    ]);
    expect(problemsOf(() => parseConfig({ servers: { a: { command: 'x', limits: { maxConcurrent: 0 } } } }, 't'))).toEqual([
      expect.stringMatching(/^servers\.a\.limits\.maxConcurrent: /),
    ]);
    expect(problemsOf(() => parseConfig({ servers: { a: { command: 'x', limits: { maxQueued: -1 } } } }, 't'))).toEqual([
      expect.stringMatching(/^servers\.a\.limits\.maxQueued: /),
    ]);
  });

  it('refuses shared rate limits without a shared store to keep them in', () => {
    expect(problemsOf(() => parseConfig({ rateLimits: { shared: true }, servers: { a: { command: 'x' } } }, 't'))).toEqual([
      'rateLimits.shared: the buckets are shared through store.redis, which the config does not set',
    ]);
  });
});
