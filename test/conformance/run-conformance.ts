/**
 * `npm run conformance`: the official MCP conformance suite, every server scenario that applies to
 * a protocol revision, run against the project's fixture server directly over Streamable HTTP (for
 * 2026-07-28 and for 2025-11-25) and through the gateway: with the fixture behind it over stdio (a
 * 2026-07-28 upstream) and over Streamable HTTP pinned to 2025-11-25 (a shared 2025 session), so
 * each client era meets each server era. The gateway must not lose a check the fixture passes.
 *
 * Prints a table, one verdict line per run, every failed check and warning, and a closing
 * `N passed, N failed` line; exits 1 if any check failed anywhere. Every process it starts is
 * stopped before it exits. The suite's results and the processes' logs are kept in a temporary
 * directory when a check failed, and removed when all passed.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { applyLimits, type KnownLimits } from './runner/limits';
import { ProcessSet } from './runner/processes';
import { printReport } from './runner/report';
import { conformancePackage, runSuite, setupFailure, type SuiteRun } from './runner/suite';
import { startFixture, startGateway, startGatewayOverHttp, type Build, type Target } from './runner/targets';

// fs.globSync, which the suite calls, arrived in Node 22.
const MIN_NODE_MAJOR = 22;

/** Something the suite runs against, and the protocol revisions whose scenarios it must pass in full. */
interface TargetPlan {
  label: string;
  start: (processes: ProcessSet, build: Build, workDir: string) => Promise<Target>;
  specVersions: readonly string[];
  /** Per revision, the checks this target cannot pass and why (limits.ts): none, unless a translation cannot give what they test. */
  limits?: Readonly<Record<string, KnownLimits>>;
}

/**
 * A 2026-07-28 client in front of a 2025-11-25 server: the server asks its questions as requests,
 * which carry no key of its choosing and see the capabilities its one session declared, and a
 * shared session declares no roots (roots belong to a client, not to a server every client shares).
 */
const FROM_A_2025_SERVER: KnownLimits = {
  'input-required-result-basic-elicitation / sep-2322-elicitation-incomplete':
    "the inputRequests keys are the gateway's: a 2025 server's elicitation/create names no key (the suite wants the fixture's own, user_name)",
  'input-required-result-basic-list-roots / sep-2322-list-roots-incomplete':
    'a shared 2025 session declares no roots capability, so the server never asks roots/list (2026 servers ask it per request, and pass)',
  'input-required-result-multiple-input-requests / sep-2322-multiple-inputs-incomplete':
    'the round includes roots/list, which a shared 2025 session is never asked (see list-roots)',
  'input-required-result-capability-check / sep-2322-respect-client-capabilities':
    "a 2025 server sees its session's capabilities, not each request's: it asks for elicitation, and the gateway answers the client -32021 as the spec says",
};

const PLAN: readonly TargetPlan[] = [
  { label: 'fixture', start: startFixture, specVersions: ['2026-07-28', '2025-11-25', 'tasks-extension'] },
  // Both client eras through the gateway, against both server eras: the four translation pairs.
  { label: 'gateway', start: startGateway, specVersions: ['2026-07-28', '2025-11-25', 'tasks-extension'] },
  { label: 'gateway-http2025', start: startGatewayOverHttp, specVersions: ['2026-07-28', '2025-11-25'], limits: { '2026-07-28': FROM_A_2025_SERVER } },
];

/** Starts the target once and runs each of its suites against it in turn. */
async function runAgainst(processes: ProcessSet, plan: TargetPlan, build: Build, workDir: string): Promise<SuiteRun[]> {
  mkdirSync(workDir, { recursive: true });
  let target: Target;
  try {
    target = await plan.start(processes, build, workDir);
  } catch (err) {
    const message = `could not start: ${(err as Error).message}`;
    return plan.specVersions.map((specVersion) => setupFailure(plan.label, specVersion, `${plan.label}-start`, message, workDir));
  }
  try {
    const runs: SuiteRun[] = [];
    for (const specVersion of plan.specVersions) {
      console.log(`${plan.label}: running the ${specVersion} suite against ${target.url}`);
      const run = await runSuite(processes, { label: plan.label, specVersion, url: target.url, workDir: join(workDir, specVersion) });
      runs.push(applyLimits(run, plan.limits?.[specVersion]));
    }
    return runs;
  } finally {
    for (const child of target.children) await processes.stop(child);
  }
}

async function main(processes: ProcessSet): Promise<number> {
  const nodeMajor = Number(process.versions.node.split('.')[0]);
  if (nodeMajor < MIN_NODE_MAJOR) {
    console.error(`the conformance suite needs Node >= ${MIN_NODE_MAJOR} (got ${process.version})`);
    return 2;
  }
  const root = resolve(__dirname, '../../..');
  const build: Build = {
    fixtureScript: join(root, 'dist/test/conformance/fixture-server.js'),
    gatewayCli: join(root, 'dist/gateway/cli.js'),
  };
  const workDir = mkdtempSync(join(tmpdir(), 'mcp-fleet-conformance-'));

  const runs: SuiteRun[] = [];
  for (const plan of PLAN) runs.push(...(await runAgainst(processes, plan, build, join(workDir, plan.label))));
  printReport(runs, `@modelcontextprotocol/conformance ${conformancePackage().version}, every server scenario of each protocol revision (--suite all)`);
  if (runs.some((run) => run.failed > 0)) {
    console.log(`results and logs kept in ${workDir}`);
    return 1;
  }
  // Every process is stopped by now (runAgainst stops its own), so nothing still writes here.
  rmSync(workDir, { recursive: true, force: true });
  return 0;
}

const processes = new ProcessSet();
process.on('exit', () => processes.killAllNow());
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    console.error(`\n${signal}: stopping child processes`);
    void processes.stopAll().finally(() => process.exit(130));
  });
}

void main(processes)
  .catch((err: unknown) => {
    console.error(err);
    return 1;
  })
  .then(async (code) => {
    await processes.stopAll();
    process.exit(code);
  });
