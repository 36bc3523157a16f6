/**
 * `npm run conformance`: the official MCP conformance suite's default server suite, run twice
 * against the project's fixture server, once directly over Streamable HTTP and once through the
 * gateway (fixture behind it over stdio). The gateway must not lose a check the fixture passes.
 *
 * Prints a table (direct vs gateway), every failed check and a closing `N passed, N failed` line;
 * exits 1 if any check failed either way. Every process it starts is stopped before it exits. The
 * suite's results and the processes' logs are kept in a temporary directory when a check failed,
 * and removed when all passed.
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

async function runAgainst(processes: ProcessSet, label: string, workDir: string, start: () => Promise<Target>): Promise<SuiteRun> {
  mkdirSync(workDir, { recursive: true });
  let target: Target;
  try {
    target = await start();
  } catch (err) {
    return setupFailure(label, `${label}-start`, `could not start: ${(err as Error).message}`, workDir);
  }
  console.log(`${label}: running the suite against ${target.url}`);
  try {
    return await runSuite(processes, { label, url: target.url, workDir });
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

  const runs = [
    await runAgainst(processes, 'direct', join(workDir, 'direct'), () => startFixture(processes, build, join(workDir, 'direct'))),
    await runAgainst(processes, 'gateway', join(workDir, 'gateway'), () => startGateway(processes, build, join(workDir, 'gateway'))),
  ];
  printReport(runs, `@modelcontextprotocol/conformance ${conformancePackage().version}, default server suite`);
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
