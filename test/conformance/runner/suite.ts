/**
 * Runs every server scenario of the official conformance suite that applies to one protocol
 * revision (`--suite all --spec-version V`: the default active suite would skip the scenarios
 * still marked pending or draft, and 2026-07-28's own ones are all draft), or every scenario of an
 * extension (the tasks extension's, one at a time), against one URL, and reads
 * its verdict back: per-scenario counts from the SUMMARY it prints (which also covers a scenario that
 * crashed before writing results), failure and warning details from the checks.json files it saves.
 */
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { ProcessSet } from './processes';
import { waitForExit } from './processes';

const SUITE_TIMEOUT_MS = 10 * 60_000;

/** A check that did not pass, or passed only with a WARNING (a SHOULD the target does not meet). */
export interface Finding {
  scenario: string;
  check: string;
  message: string;
}

export interface SuiteRun {
  /** What ran against what, e.g. "fixture" or "gateway". */
  label: string;
  /** The protocol revision the suite spoke. */
  specVersion: string;
  scenarios: number;
  passed: number;
  failed: number;
  failures: Finding[];
  warnings: Finding[];
  /** Failed checks the target is known not to pass, with the reason (limits.ts). */
  limits?: Finding[];
  /** Where the suite's output and per-scenario checks.json files are. */
  artifacts: string;
}

interface Check {
  id: string;
  status: string;
  errorMessage?: string;
}

/** The installed suite's package root and version. */
export function conformancePackage(): { bin: string; version: string } {
  const manifestPath = require.resolve('@modelcontextprotocol/conformance/package.json');
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as { version: string; bin: Record<string, string> };
  return { bin: join(dirname(manifestPath), manifest.bin.conformance), version: manifest.version };
}

/** A run that could not take place (no server to test), counted as one failed check so it cannot pass silently. */
export function setupFailure(label: string, specVersion: string, check: string, message: string, artifacts: string): SuiteRun {
  return { label, specVersion, scenarios: 0, passed: 0, failed: 1, failures: [{ scenario: '(setup)', check, message }], warnings: [], artifacts };
}

/**
 * Extension suites, by the name the report gives them: the suite lists their scenarios under
 * `[extension]`, off every revision's timeline, so each is run on its own (`--scenario S --force`).
 */
const EXTENSION_SUITES: Readonly<Record<string, string>> = { 'tasks-extension': 'tasks-' };

/** The suite's invocations for one revision (one run of `--suite all`) or one extension suite (a run per scenario). */
function invocations(specVersion: string): string[][] {
  const prefix = EXTENSION_SUITES[specVersion];
  if (prefix === undefined) return [['--suite', 'all', '--spec-version', specVersion]];
  const listed = spawnSync(process.execPath, [conformancePackage().bin, 'list', '--server'], { encoding: 'utf8' });
  const scenarios = [...listed.stdout.matchAll(/^\s*- (\S+) \[extension\]$/gm)].map((m) => m[1] ?? '').filter((name) => name.startsWith(prefix));
  if (scenarios.length === 0) throw new Error(`the conformance suite lists no ${prefix}* extension scenario (exit ${listed.status}): ${listed.stderr}`);
  return scenarios.map((scenario) => ['--scenario', scenario, '--force']);
}

export async function runSuite(processes: ProcessSet, options: { label: string; specVersion: string; url: string; workDir: string }): Promise<SuiteRun> {
  const { label, specVersion, url, workDir } = options;
  const checksDir = join(workDir, 'checks');
  const logFile = join(workDir, 'suite.log');
  mkdirSync(checksDir, { recursive: true });

  const deadline = Date.now() + SUITE_TIMEOUT_MS;
  const outcomes: (number | NodeJS.Signals | 'timeout')[] = [];
  for (const [i, args] of invocations(specVersion).entries()) {
    const out = openSync(logFile, i === 0 ? 'w' : 'a');
    const child = processes.spawn(process.execPath, [conformancePackage().bin, 'server', '--url', url, ...args, '-o', checksDir], {
      stdio: ['ignore', out, out],
    });
    closeSync(out);
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), Math.max(0, deadline - Date.now()))));
    const outcome = await Promise.race([waitForExit(child), timedOut]);
    clearTimeout(timer);
    await processes.stop(child);
    outcomes.push(outcome);
    if (outcome === 'timeout') break;
  }

  const run = { label, specVersion, ...readResults(readFileSync(logFile, 'utf8'), checksDir, workDir) };
  if (outcomes.includes('timeout')) {
    run.failed += 1;
    run.failures.push({ scenario: '(suite)', check: 'suite-timeout', message: `suite did not finish within ${SUITE_TIMEOUT_MS} ms; see ${logFile}` });
  } else if (outcomes.some((outcome) => outcome !== 0) && run.failed === 0) {
    run.failed += 1;
    run.failures.push({
      scenario: '(suite)',
      check: 'suite-exit',
      message: `suite exited with ${outcomes.join(', ')} but reported no failed check; see ${logFile}`,
    });
  }
  return run;
}

function readResults(output: string, checksDir: string, artifacts: string): Omit<SuiteRun, 'label' | 'specVersion'> {
  const saved = readSavedChecks(checksDir);
  const summary = [...output.matchAll(/^[✓✗] (\S+): (\d+) passed, (\d+) failed$/gmu)].map((m) => ({
    scenario: m[1] ?? '',
    passed: Number(m[2]),
    failed: Number(m[3]),
  }));
  // Without a SUMMARY the suite died early; the files are all there is.
  const counts =
    summary.length > 0
      ? summary
      : [...saved].map(([scenario, checks]) => ({
          scenario,
          passed: checks.filter((c) => c.status === 'SUCCESS').length,
          failed: checks.filter((c) => c.status === 'FAILURE').length,
        }));

  const failures: Finding[] = [];
  const warnings: Finding[] = [];
  const finding = (scenario: string, check: Check): Finding => ({ scenario, check: check.id, message: check.errorMessage ?? '(no message)' });
  for (const { scenario, failed } of counts) {
    const checks = saved.get(scenario);
    warnings.push(...(checks ?? []).filter((c) => c.status === 'WARNING').map((c) => finding(scenario, c)));
    if (failed === 0) continue;
    if (!checks) {
      failures.push({ scenario, check: scenario, message: `scenario crashed before saving results; see ${join(artifacts, 'suite.log')}` });
      continue;
    }
    failures.push(...checks.filter((c) => c.status === 'FAILURE').map((c) => finding(scenario, c)));
  }
  return {
    scenarios: counts.length,
    passed: counts.reduce((sum, c) => sum + c.passed, 0),
    failed: counts.reduce((sum, c) => sum + c.failed, 0),
    failures,
    warnings,
    artifacts,
  };
}

/** checks.json per scenario; the suite names each directory server-<scenario>-<ISO time with - for : and .>. */
function readSavedChecks(checksDir: string): Map<string, Check[]> {
  const saved = new Map<string, Check[]>();
  if (!existsSync(checksDir)) return saved;
  for (const entry of readdirSync(checksDir)) {
    const scenario = /^server-(.+)-\d{4}-\d{2}-\d{2}T[\d-]+Z$/.exec(entry)?.[1];
    const file = join(checksDir, entry, 'checks.json');
    if (scenario && existsSync(file)) saved.set(scenario, JSON.parse(readFileSync(file, 'utf8')) as Check[]);
  }
  return saved;
}
