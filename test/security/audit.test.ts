/**
 * The security-hardening audit's checks, on the repository's real files and on fixtures that have
 * one problem each: the network policy against the compose variants (compose itself resolves
 * them), client authentication and TLS of the gateway listeners, and secrets in the environment of
 * real containers (created in the engine, never started). Each fixture reports exactly its
 * finding; clean ones pass; a check with nothing to check fails. Then the whole audit runs once
 * through Temporal with the real activities: every check runs, each failure named.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml, stringify } from 'yaml';
import * as activities from '../../activities';
import { authFindings } from '../../activities/listener-audit';
import { secretLikeName } from '../../activities/env-secrets';
import { PipelineClient } from '../../pipeline/client';
import { stepsFor } from '../../pipeline/phases';
import type { StepInput } from '../../pipeline/types';
import { startPipelineWorker, type PipelineWorker } from '../../pipeline/worker';
import { docker, ROOT, sh, uniqueName } from '../containers/support/docker';
import { processesMentioning, startTestTemporal, type TestTemporal } from '../pipeline/temporal';

jest.setTimeout(180_000);

const dir = mkdtempSync(join(tmpdir(), 'mcp-fleet-audit-'));
const project = uniqueName('mcpfleet-audit');
const IMAGE = `mcpfleet-audit-empty:${project.slice(-8)}`;
const input = (params: Record<string, unknown> = {}, target = project): StepInput => ({
  runId: 'test',
  phase: 'security-hardening',
  verb: 'audit',
  target,
  params,
  previous: {},
});

/** Writes a fixture file into the test's directory and returns its path. */
function fixture(name: string, content: string | object): string {
  const file = join(dir, name);
  writeFileSync(file, typeof content === 'string' ? content : stringify(content));
  return file;
}

/** The real policy with each service's gateway config replaced by `configs[service]` (a fixture's path). */
function policyWith(configs: Record<string, string>): string {
  const policy = parseYaml(readFileSync(join(ROOT, 'docker/security-policies.yml'), 'utf8'));
  for (const [svc, file] of Object.entries(configs)) policy.services[svc].listen[0].config = file;
  return fixture(`policy-${Object.values(configs).join('').length}-${Object.keys(configs).join('-')}.yml`, policy);
}

const TLS = { certFile: '/run/secrets/tls.crt', keyFile: '/run/secrets/tls.key' };
const bridge = (auth: unknown, extra: object = {}) => ({
  ...(auth === undefined ? {} : { auth }),
  listen: '0.0.0.0:8080',
  servers: { server: { command: '/usr/local/bin/mcp-stdio-wrapper.sh', args: ['memory'], prefix: false } },
  ...extra,
});
const gateway = (auth: unknown, upstream: string, extra: object = {}) => ({
  auth,
  listen: '0.0.0.0:8080',
  servers: { memory: { url: upstream, tls: { caFile: '/run/secrets/ca.crt' } } },
  ...extra,
});
const apiKeys = { apiKeys: [{ name: 'ci', hash: 'sha256:00' }] };
const mtls = { mtls: { caFile: '/run/secrets/ca.crt' } };
/** Every listener of the stack authenticated, with TLS, upstreams over https. */
const cleanConfigs = () => ({
  gateway: fixture('gw-clean.yaml', gateway(apiKeys, 'https://memory:8443/mcp', { tls: TLS })),
  // the prod override's replicas behind haproxy (there the gateway service is haproxy, not audited)
  'gateway-1': fixture('gw-clean.yaml', gateway(apiKeys, 'https://memory:8443/mcp', { tls: TLS })),
  'gateway-2': fixture('gw-clean.yaml', gateway(apiKeys, 'https://memory:8443/mcp', { tls: TLS })),
  memory: fixture('memory-clean.yaml', bridge(mtls, { tls: TLS })),
  filesystem: fixture('fs-clean.yaml', bridge(mtls, { tls: TLS })),
  pipeline: fixture('pipeline-clean.yaml', bridge(mtls, { tls: TLS })),
});

afterAll(async () => {
  await sh('docker', ['rm', '-f', ...(await docker('ps', '-aq', '--filter', `label=com.docker.compose.project=${project}`)).split('\n').filter(Boolean)]);
  await sh('docker', ['rmi', IMAGE]);
  rmSync(dir, { recursive: true, force: true });
  expect(await docker('ps', '-aq', '--filter', `label=com.docker.compose.project=${project}`)).toBe('');
});

describe('network policy against the compose files', () => {
  it('every compose variant of the repository follows docker/security-policies.yml', async () => {
    const r = await activities.auditNetworkPolicy(input());
    expect(r.outcome).toBe('passed');
    expect(r.details?.variants).toEqual([
      'docker-compose.yml',
      'docker-compose.yml + docker-compose.dev.yml',
      'docker-compose.yml + docker-compose.prod.yml',
      'docker-compose.yml + docker-compose.pipeline-engine.yml',
    ]);
  });

  it('an override that puts a server on the frontend, publishes it and opens the backend: exactly those findings, naming them', async () => {
    const override = fixture('override.yml', {
      services: { memory: { networks: ['backend', 'frontend'], ports: ['0.0.0.0:18080:8080'] }, temporal: { ports: ['0.0.0.0:18233:8233'] } },
      networks: { backend: { internal: false } },
    });
    const r = await activities.auditNetworkPolicy(input({ files: ['docker-compose.yml', override] }));
    expect(r.outcome).toBe('failed');
    const label = `docker-compose.yml + ${override}`;
    expect(r.details?.findings).toEqual([
      { subject: 'memory', rule: 'joins only the networks the policy allows (backend)', found: `on frontend in ${label}` },
      { subject: 'memory', rule: 'publishes only the ports the policy allows (none)', found: `publishes 8080 on 0.0.0.0 in ${label}` },
      { subject: 'temporal', rule: 'publishes 8233 on loopback only', found: `on 0.0.0.0 in ${label}` },
      { subject: 'backend', rule: 'is internal (no route out), as the policy says', found: `internal false in ${label}` },
    ]);
    expect(r.summary).toMatch(/^4 network policy findings: memory joins only the networks/);
  });

  it('an invalid policy is the finding, naming the file and the field', async () => {
    const bad = fixture('bad-policy.yml', 'networks: {}\nservices: { gateway: { networks: [frontend] } }\n');
    const r = await activities.auditNetworkPolicy(input({ policy: bad }));
    expect(r).toMatchObject({
      outcome: 'failed',
      summary: `invalid security policy ${bad}:\n  - services.gateway.networks.0: no network "frontend" in networks (networks: )`,
    });
  });
});

describe('client authentication of every listener', () => {
  it('the stack as it is: every listener authenticates its clients (API keys)', async () => {
    const r = await activities.auditListenerAuth(input());
    expect(r).toMatchObject({ outcome: 'passed', details: { findings: [] } });
  });

  it('every listener authenticated: passes', async () => {
    const r = await activities.auditListenerAuth(input({ policy: policyWith(cleanConfigs()) }));
    expect(r).toMatchObject({ outcome: 'passed', summary: '4 gateway listeners declare client authentication', details: { findings: [], warnings: [] } });
  });

  it('auth: none on 0.0.0.0, an empty auth, no auth, an invalid config: one finding each', async () => {
    const configs = {
      ...cleanConfigs(),
      gateway: fixture('gw-none.yaml', gateway('none', 'https://memory:8443/mcp')),
      memory: fixture('memory-empty.yaml', bridge({})),
      filesystem: fixture('fs-noauth.yaml', bridge(undefined)),
      pipeline: fixture('pipeline-invalid.yaml', bridge(mtls, { log: { level: 'loud' } })),
    };
    const r = await activities.auditListenerAuth(input({ policy: policyWith(configs) }));
    expect(r.outcome).toBe('failed');
    expect((r.details?.findings as { subject: string; rule: string; found: string }[]).map((f) => `${f.subject.split(' ')[0]}: ${f.rule}: ${f.found}`)).toEqual(
      [
        'gateway: authenticates clients on a listener that is not loopback-only: auth: none on 0.0.0.0:8080',
        'memory: declares one of oauth, apiKeys, mtls under auth (or auth: none): auth: {}',
        'filesystem: declares client authentication (auth: oauth, apiKeys, mtls or none): no auth key, listening on 0.0.0.0:8080',
        expect.stringMatching(/^pipeline: has a valid gateway config: invalid config .*pipeline-invalid\.yaml:\n {2}- log\.level: /),
      ],
    );
  });

  it('auth: none on a loopback listener is a warning, not a finding', () => {
    const l = { service: 'gateway', file: 'g.yaml', listen: '127.0.0.1:8080', auth: 'none', tls: undefined, upstreams: [] };
    expect(authFindings(l)).toEqual({
      findings: [],
      warnings: [{ subject: 'gateway (g.yaml)', rule: 'authenticates clients (auth: none on loopback)', found: 'auth: none on 127.0.0.1:8080' }],
    });
    expect(authFindings({ ...l, listen: '[::1]:8080' }).findings).toEqual([]);
    expect(authFindings({ ...l, listen: '0.0.0.0:8080' }).findings).toHaveLength(1);
  });

  it('a policy that names no gateway config has nothing to check, and fails', async () => {
    const policy = parseYaml(readFileSync(join(ROOT, 'docker/security-policies.yml'), 'utf8'));
    for (const s of Object.values<any>(policy.services)) for (const l of s.listen ?? []) delete l.config;
    const r = await activities.auditListenerAuth(input({ policy: fixture('no-configs.yml', policy) }));
    expect(r).toMatchObject({ outcome: 'failed', summary: expect.stringContaining('no gateway listener to audit for client authentication') });
    expect(await activities.auditListenerTls(input({ policy: fixture('no-configs.yml', policy) }))).toMatchObject({ outcome: 'failed' });
  });
});

describe('TLS between containers', () => {
  it("the stack as it is: the prod links between containers use TLS; the gateway replicas' listeners behind haproxy (nginx terminates TLS before it) are the findings", async () => {
    const r = await activities.auditListenerTls(input());
    expect(r.outcome).toBe('failed');
    const found = (list: unknown) => (list as { subject: string; found: string }[]).map((f) => `${f.subject.split(' ')[0]}: ${f.found}`);
    expect(found(r.details?.findings)).toEqual(['gateway-1: plain HTTP on 0.0.0.0:8080 (prod)', 'gateway-2: plain HTTP on 0.0.0.0:8080 (prod)']);
    expect(found(r.details?.warnings)).toContain('gateway: http://filesystem:8080/mcp (dev)');
  });

  it('TLS on every listener and https upstreams: passes; one plain upstream: exactly that finding', async () => {
    expect(await activities.auditListenerTls(input({ policy: policyWith(cleanConfigs()) }))).toMatchObject({
      outcome: 'passed',
      summary: '7 listeners and upstream links of the prod stack use TLS',
    });
    const plain = { ...cleanConfigs(), 'gateway-1': fixture('gw-plain.yaml', gateway(apiKeys, 'http://memory:8080/mcp', { tls: TLS })) };
    const r = await activities.auditListenerTls(input({ policy: policyWith(plain) }));
    expect(r.details?.findings).toEqual([
      { subject: `gateway-1 (${plain['gateway-1']})`, rule: 'reaches upstream memory over TLS (https:// or wss://)', found: 'http://memory:8080/mcp (prod)' },
    ]);
  });
});

describe('secrets in container environments (docker inspect)', () => {
  beforeAll(async () => {
    // an image with no files: the containers are created, never started
    const r = await sh('bash', ['-c', `tar -c -T /dev/null | docker import - ${IMAGE}`]);
    if (r.code !== 0) throw new Error(`docker import failed: ${r.stderr}`);
  });

  const create = (name: string, env: string[]) =>
    docker(
      'create',
      '--name',
      `${project}-${name}`,
      '--label',
      `com.docker.compose.project=${project}`,
      ...env.flatMap((e) => ['-e', e]),
      '--entrypoint',
      '/none',
      IMAGE,
    );

  it('no container in the project: nothing to check, fails', async () => {
    expect(await activities.auditContainerSecrets(input())).toMatchObject({
      outcome: 'failed',
      summary: expect.stringContaining('no containers in compose project'),
    });
  });

  it('references only: passes; literal secrets: one finding each, naming container and variable, never the value', async () => {
    await create('clean', [
      'UPSTREAM_TOKEN_FILE=/run/secrets/upstream_token',
      'API_KEY=${secret:vault:kv/mcp#key}',
      'DB_PASSWORD=',
      'KEYBOARD=us',
      'LOG_LEVEL=info',
    ]);
    expect(await activities.auditContainerSecrets(input())).toMatchObject({ outcome: 'passed', summary: expect.stringContaining('of 1 containers') });
    await create('leaky', ['GITHUB_TOKEN=ghp_literal123', 'db_password=hunter2', 'SIGNING_KEY=abc', 'UPSTREAM_TOKEN_FILE=/run/secrets/x', 'MONKEY=1']);
    const r = await activities.auditContainerSecrets(input());
    expect(r.outcome).toBe('failed');
    // the engine keeps no order of the variables
    expect((r.details?.findings as { subject: string; found: string }[]).map((f) => `${f.subject}: ${f.found}`).sort()).toEqual([
      `${project}-leaky: GITHUB_TOKEN holds a literal value (14 characters)`,
      `${project}-leaky: SIGNING_KEY holds a literal value (3 characters)`,
      `${project}-leaky: db_password holds a literal value (7 characters)`,
    ]);
    expect(JSON.stringify(r)).not.toMatch(/ghp_literal123|hunter2/);
  });

  it('names that look like secrets', () => {
    expect(['ADMIN_TOKEN', 'API_KEY', 'apikey', 'DB_PASS', 'CLIENT_SECRET', 'AWS_SECRET_ACCESS_KEY', 'PRIVATE_KEY'].filter((n) => !secretLikeName(n))).toEqual(
      [],
    );
    expect(['KEYBOARD', 'MONKEY', 'PATH', 'PASSAGE', 'LOG_LEVEL', 'TOKENIZER'].filter(secretLikeName)).toEqual([]);
  });
});

describe('security-hardening --audit through Temporal', () => {
  let temporal: TestTemporal;
  let worker: PipelineWorker;
  let client: PipelineClient;

  beforeAll(async () => {
    temporal = await startTestTemporal();
    worker = await startPipelineWorker({ temporal, taskQueue: 'test-security-audit' });
    client = await PipelineClient.connect(temporal, 'test-security-audit');
  });

  afterAll(async () => {
    await client?.close();
    await worker?.stop();
    await temporal?.stop();
    expect(processesMentioning(temporal.dir)).toEqual([]);
  });

  it('runs every check even after one fails, and fails naming the first failure', async () => {
    const request = { phase: 'security-hardening' as const, verb: 'audit' as const, target: project };
    const h = await client.start(request, stepsFor('security-hardening', 'audit'));
    const result = await client.result(h.workflowId);
    expect(result.status).toBe('failed');
    expect(result.steps.map((s) => [s.id, s.outcome])).toEqual([
      ['inspect-hardening', 'failed'], // the test's containers have no hardening at all
      ['network-policy', 'passed'],
      ['listener-auth', 'passed'],
      ['listener-tls', 'failed'],
      ['container-secrets', 'failed'],
    ]);
    expect(result.failure?.step).toBe('inspect-hardening');
    expect(result.steps[4].summary).toMatch(
      new RegExp(`^3 container secret findings: ${project}-leaky .*GITHUB_TOKEN holds a literal value \\(14 characters\\)`),
    );
  });
});
