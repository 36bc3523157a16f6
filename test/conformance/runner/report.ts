/**
 * Prints the runs side by side, one verdict line per run (what the jest test reads), every failed
 * check and every warning, then the closing line CI counts.
 */
import type { Finding, SuiteRun } from './suite';

const COLUMNS = ['run', 'suite', 'scenarios', 'passed', 'failed', 'warnings', 'limits', 'total'] as const;

/** `LABEL SUITE: P/T checks passed, W warning(s), L known limit(s), S scenarios`, e.g. "fixture 2026-07-28: 152/152 checks passed, ...". */
function verdictLine(run: SuiteRun): string {
  const limits = run.limits?.length ?? 0;
  return `${run.label} ${run.specVersion}: ${run.passed}/${run.passed + run.failed + limits} checks passed, ${run.warnings.length} warning(s), ${limits} known limit(s), ${run.scenarios} scenarios`;
}

export function printReport(runs: readonly SuiteRun[], heading: string): void {
  const rows = runs.map((run) => {
    const limits = run.limits?.length ?? 0;
    return [run.label, run.specVersion, run.scenarios, run.passed, run.failed, run.warnings.length, limits, run.passed + run.failed + limits].map(String);
  });
  const widths = COLUMNS.map((title, i) => Math.max(title.length, ...rows.map((row) => row[i]?.length ?? 0)));
  const format = (cells: readonly string[]) => cells.map((cell, i) => (i < 2 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0))).join('  ');

  console.log(`\n${heading}`);
  console.log(format(COLUMNS));
  for (const row of rows) console.log(format(row));
  console.log('');
  for (const run of runs) console.log(verdictLine(run));

  for (const run of runs) {
    printFindings(`${run.label} ${run.specVersion}: ${run.failures.length} failed check(s) (artifacts: ${run.artifacts})`, run.failures);
    printFindings(`${run.label} ${run.specVersion}: ${run.warnings.length} warning(s), SHOULDs not met (not failures)`, run.warnings);
    printFindings(`${run.label} ${run.specVersion}: ${run.limits?.length ?? 0} known limit(s) of this target (not failures)`, run.limits ?? []);
  }

  const passed = runs.reduce((sum, run) => sum + run.passed, 0);
  const failed = runs.reduce((sum, run) => sum + run.failed, 0);
  console.log(`\n${passed} passed, ${failed} failed`);
}

function printFindings(title: string, findings: readonly Finding[]): void {
  if (findings.length === 0) return;
  console.log(`\n${title}`);
  for (const { scenario, check, message } of findings) console.log(`  ${check === scenario ? scenario : `${scenario} / ${check}`}: ${message}`);
}
