/**
 * Activities without a stack: FleetErrors as Temporal failures, the hardening rules on inspect
 * documents, bad input, reading traces from log lines, and a gateway that does not answer.
 */
import { ApplicationFailure } from '@temporalio/activity';
import type Docker from 'dockerode';
import { checkMetrics, composeUp, gatewayHealth, healthStatus, mcpRoundTrip, poolStatistics, requestTracing, routingWeights } from '../../activities';
import { gatewayUrl } from '../../activities/engine';
import { failure, toApplicationFailure } from '../../activities/runtime';
import { ERROR_CODES, FleetError, type FleetErrorCode } from '../../gateway/protocol/errors';
import { containerFindings, routesOut } from '../../activities/hardening';
import { countLevels, demux } from '../../activities/logs';
import { chain, hopsIn } from '../../activities/tracing';
import type { StepInput } from '../../pipeline/types';
import { testSecret } from '../helpers/secret-values';

const input = (over: Partial<StepInput> = {}): StepInput => ({ runId: 'r1', phase: 'docker-compose', verb: 'validate', params: {}, previous: {}, ...over });

function container(host: Partial<Docker.HostConfig>, user = '10001:10001'): Docker.ContainerInspectInfo {
  return { Name: '/c1', Config: { User: user }, HostConfig: host } as unknown as Docker.ContainerInspectInfo;
}
const HARDENED = {
  CapDrop: ['ALL'],
  SecurityOpt: ['no-new-privileges:true'],
  ReadonlyRootfs: true,
  Memory: 1 << 27,
  NanoCpus: 5e8,
  PidsLimit: 64,
  PortBindings: { '8080/tcp': [{ HostIp: '127.0.0.1', HostPort: '8080' }] },
};

describe('FleetErrors as Temporal failures', () => {
  it('types every code as itself, non-retryable unless the code table says a retry can help', () => {
    for (const code of Object.keys(ERROR_CODES) as FleetErrorCode[]) {
      const f = toApplicationFailure(new FleetError(code, `${code} happened`));
      expect(f).toBeInstanceOf(ApplicationFailure);
      expect({ type: f.type, message: f.message, nonRetryable: f.nonRetryable }).toEqual({
        type: code,
        message: `${code} happened`,
        nonRetryable: !ERROR_CODES[code].retryable,
      });
    }
  });

  it('puts the details (the hint the workflow reports) first', () => {
    expect(failure('CHECK_FAILED', 'the check failed', { hint: 'fix the thing' }).details).toEqual([{ hint: 'fix the thing' }]);
    expect(failure('COMMAND_FAILED', 'busy').details).toBeUndefined();
  });
});

describe('hardening rules', () => {
  it('finds nothing on a hardened container', () => {
    expect(containerFindings(container(HARDENED))).toEqual([]);
  });

  it('names each violated rule and what was found', () => {
    const findings = containerFindings(
      container(
        {
          ...HARDENED,
          CapDrop: [],
          CapAdd: ['NET_ADMIN'],
          SecurityOpt: [],
          ReadonlyRootfs: false,
          Memory: 0,
          NanoCpus: 0,
          PidsLimit: 0,
          Privileged: true,
          PortBindings: { '8080/tcp': [{ HostIp: '', HostPort: '8080' }] },
        },
        '',
      ),
    );
    expect(findings.map((f) => f.rule)).toEqual([
      'runs as a non-root user',
      'drops all capabilities (cap_drop: ALL)',
      'adds no capabilities',
      'is not privileged',
      'sets no-new-privileges',
      'has a read-only root filesystem',
      'has a memory limit',
      'has a CPU limit',
      'has a pids limit',
      'publishes ports on loopback only',
    ]);
    expect(findings[0]).toEqual({ subject: 'c1', rule: 'runs as a non-root user', found: "User '(image default: root)'" });
    expect(containerFindings(container(HARDENED, '0:0')).map((f) => f.rule)).toEqual(['runs as a non-root user']);
    expect(containerFindings(container(HARDENED, 'root')).map((f) => f.rule)).toEqual(['runs as a non-root user']);
  });
});

describe('hardening rules: the Docker socket and routes out', () => {
  it('reports a mounted Docker engine socket, however deliberate', () => {
    const mounted = {
      ...container(HARDENED),
      Mounts: [
        { Type: 'bind', Source: '/var/run/docker.sock', Destination: '/var/run/docker.sock' },
        { Type: 'volume', Source: '/var/lib/docker/volumes/x/_data', Destination: '/data' },
      ],
    };
    expect(containerFindings(mounted as unknown as Docker.ContainerInspectInfo)).toEqual([
      { subject: 'c1', rule: 'mounts no Docker engine socket (root on the host)', found: 'bind /var/run/docker.sock' },
    ]);
    // a created, never started container has Binds but no Mounts yet
    expect(containerFindings(container({ ...HARDENED, Binds: ['/run/docker.sock:/var/run/docker.sock:ro'] })).map((f) => f.found)).toEqual([
      'bind /run/docker.sock',
    ]);
  });

  it('counts a network as a route out unless it is internal or has outbound NAT switched off', () => {
    expect(routesOut({ Internal: false, Options: {} })).toBe(true);
    expect(routesOut({ Internal: true, Options: {} })).toBe(false);
    expect(routesOut({ Internal: false, Options: { 'com.docker.network.bridge.enable_ip_masquerade': 'false' } })).toBe(false);
    expect(routesOut({ Internal: false, Options: { 'com.docker.network.bridge.enable_ip_masquerade': 'true' } })).toBe(true);
  });
});

describe('activities without a stack', () => {
  it('gatewayUrl: params.url first, then MCP_FLEET_GATEWAY_URL (a worker inside the stack), before any published port', async () => {
    const saved = process.env.MCP_FLEET_GATEWAY_URL;
    process.env.MCP_FLEET_GATEWAY_URL = 'http://gateway:8080/';
    try {
      expect(await gatewayUrl(input({ target: 'mcpfleet-none' }))).toBe('http://gateway:8080');
      expect(await gatewayUrl(input({ params: { url: 'http://127.0.0.1:9/' } }))).toBe('http://127.0.0.1:9');
    } finally {
      if (saved === undefined) delete process.env.MCP_FLEET_GATEWAY_URL;
      else process.env.MCP_FLEET_GATEWAY_URL = saved;
    }
  });

  it('requestTracing needs the running stack whose logs it reads', async () => {
    await expect(requestTracing(input({ target: 'mcpfleet-no-such-project' }))).rejects.toMatchObject({
      type: 'BAD_INPUT',
      message: expect.stringContaining('no running containers in compose project mcpfleet-no-such-project'),
    });
  });

  it('tracing rebuilds the chain of hops from the spans in the logs', () => {
    const trace = 'a'.repeat(32);
    const line = (o: object) => JSON.stringify({ level: 30, msg: 'call', trace, ...o });
    const gw = hopsIn(
      'gw',
      [
        line({ span: 's1', parent: 'c0', server: 'memory', backend: 'primary', ms: 3 }),
        'stderr noise ' + trace,
        line({ trace: 'b'.repeat(32), span: 'x', parent: 'c0', server: 'other' }),
      ].join('\n'),
      trace,
    );
    const bridge = hopsIn('memory-1', line({ span: 's2', parent: 's1', server: 'memory', ms: 1 }), trace);
    const stray = hopsIn('other-1', line({ span: 's9', parent: 'nobody', server: 'x' }), trace);
    expect(gw).toEqual([{ container: 'gw', span: 's1', parent: 'c0', server: 'memory', backend: 'primary', ms: 3 }]);
    expect(chain([...stray, ...bridge, ...gw], 'c0').map((h) => h.container)).toEqual(['gw', 'memory-1']);
    expect(chain(gw, 'someone-else')).toEqual([]);
  });

  it('metrics, weights and pools against a gateway that does not answer: failed or retryable, naming the address', async () => {
    const url = 'http://127.0.0.1:9';
    const metrics = await checkMetrics(input({ params: { url } }));
    expect(metrics).toMatchObject({ outcome: 'failed', summary: expect.stringContaining("cannot scrape the gateway's metrics") });
    process.env.MCP_FLEET_ADMIN_TOKEN = testSecret('some-token');
    try {
      for (const activity of [routingWeights, poolStatistics]) {
        await expect(activity(input({ params: { url } }))).rejects.toMatchObject({
          type: 'COMMAND_FAILED',
          nonRetryable: false,
          message: expect.stringContaining(`admin API at ${url} does not answer`),
        });
      }
    } finally {
      delete process.env.MCP_FLEET_ADMIN_TOKEN;
    }
  });

  it('a gateway that does not answer fails the liveness and round-trip checks with the address', async () => {
    const url = 'http://127.0.0.1:9'; // discard port: nothing listens
    const live = await gatewayHealth(input({ params: { url } }));
    expect(live.outcome).toBe('failed');
    expect(live.summary).toContain('gateway at http://127.0.0.1:9 does not answer');
    const trip = await mcpRoundTrip(input({ params: { url, transports: ['streamable-http', 'sse', 'websocket'] } }));
    expect(trip.outcome).toBe('failed');
    expect((trip.details!.fronts as { front: string; ok: boolean }[]).map((f) => [f.front, f.ok])).toEqual([
      ['streamable-http', false],
      ['sse', false],
      ['websocket', false],
    ]);
  });

  it('rejects bad input as non-retryable failures that say what to pass', async () => {
    await expect(mcpRoundTrip(input({ params: { url: 'http://127.0.0.1:9', transports: ['carrier-pigeon'] } }))).rejects.toMatchObject({
      type: 'BAD_INPUT',
      nonRetryable: true,
      message: 'unknown transport carrier-pigeon; use streamable-http, sse, websocket',
    });
    await expect(composeUp(input({ target: 'Bad Name' }))).rejects.toMatchObject({
      type: 'BAD_INPUT',
      nonRetryable: true,
      message: expect.stringContaining("(got 'Bad Name')"),
    });
    await expect(composeUp(input({ target: 'x', params: { override: 'staging' } }))).rejects.toMatchObject({
      type: 'BAD_INPUT',
      message: "params.override must be 'dev' or 'prod' (got 'staging')",
    });
  });
});

describe('log reading', () => {
  it('demultiplexes docker log frames and passes a raw (TTY) log through', () => {
    const frame = (stream: number, text: string) => {
      const body = Buffer.from(text);
      const head = Buffer.alloc(8);
      head[0] = stream;
      head.writeUInt32BE(body.length, 4);
      return Buffer.concat([head, body]);
    };
    expect(demux(Buffer.concat([frame(1, 'out\n'), frame(2, 'err\n')]))).toBe('out\nerr\n');
    expect(demux(Buffer.from('plain tty output\n'))).toBe('plain tty output\n');
  });

  it('counts pino warnings and errors, ignoring lines that are not JSON logs', () => {
    const log = [
      '{"level":30,"msg":"listening"}',
      '{"level":40,"msg":"slow"}',
      'server says hi',
      '{"level":50,"msg":"upstream memory lost"}',
      '{"level":60,"msg":"dead"}',
    ].join('\n');
    expect(countLevels(log)).toEqual({ lines: 5, warnings: 1, errors: 2, lastErrors: ['upstream memory lost', 'dead'] });
  });
});

describe('without a Docker engine', () => {
  const saved = process.env.DOCKER_HOST;
  beforeAll(() => {
    process.env.DOCKER_HOST = 'unix:///nonexistent/docker.sock';
  });
  afterAll(() => {
    if (saved === undefined) delete process.env.DOCKER_HOST;
    else process.env.DOCKER_HOST = saved;
  });

  it('docker activities fail non-retryable, saying how to get an engine', async () => {
    for (const activity of [healthStatus, composeUp]) {
      await expect(activity(input({ target: 'mcpfleet-none' }))).rejects.toMatchObject({
        type: 'DOCKER_UNAVAILABLE',
        nonRetryable: true,
        message: expect.stringMatching(
          /^the Docker engine is not reachable from this worker \(unix:\/\/\/nonexistent\/docker\.sock: .*\); run the step from a worker on a machine with the engine \(start one with scripts\/ci-docker\.sh, or set DOCKER_HOST\), or, in the compose stack, .*docker-compose\.pipeline-engine\.yml/,
        ),
      });
    }
  });
});
