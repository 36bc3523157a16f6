/**
 * `npm run conformance`: the official MCP conformance suite, every server scenario that applies to
 * a protocol revision, run against the project's fixture server directly over Streamable HTTP (for
 * 2026-07-28 and for 2025-11-25) and through the gateway (fixture behind it over stdio). The
 * gateway must not lose a check the fixture passes.
 *
 * Prints a table, one verdict line per run, every failed check and warning, and a closing
 * `N passed, N failed` line; exits 1 if any check failed anywhere. Every process it starts is
 * stopped before it exits. The suite's results and the processes' logs are kept in a temporary
 * directory when a check failed, and removed when all passed.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ProcessSet } from './runner/processes';
import { printReport } from './runner/report';
import { conformancePackage, runSuite, setupFailure, type SuiteRun } from './runner/suite';
import { startFixture, startGateway, type Build, type Target } from './runner/targets';

// fs.globSync, which the suite calls, arrived in Node 22.
const MIN_NODE_MAJOR = 22;

/** Something the suite runs against, and the protocol revisions whose scenarios it must pass in full. */
interface TargetPlan {
  label: string;
  start: (processes: ProcessSet, build: Build, workDir: string) => Promise<Target>;
  specVersions: readonly string[];
}

const PLAN: readonly TargetPlan[] = [
  { label: 'fixture', start: startFixture, specVersions: ['2026-07-28', '2025-11-25'] },
  // The gateway speaks 2025-11-25 to its clients so far; list '2026-07-28' here once it speaks that too.
  { label: 'gateway', start: startGateway, specVersions: ['2025-11-25'] },
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
      runs.push(await runSuite(processes, { label: plan.label, specVersion, url: target.url, workDir: join(workDir, specVersion) }));
    }
    return runs;
  } finally {
    await processes.stop(target.child);
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
