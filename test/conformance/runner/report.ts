/** Prints the runs side by side, then every failed check, then the closing line CI counts. */
import type { SuiteRun } from './suite';

const COLUMNS = ['run', 'scenarios', 'passed', 'failed', 'warnings', 'total'] as const;

export function printReport(runs: readonly SuiteRun[], heading: string): void {
  const rows = runs.map((run) => [run.label, run.scenarios, run.passed, run.failed, run.warnings, run.passed + run.failed].map(String));
  const widths = COLUMNS.map((title, i) => Math.max(title.length, ...rows.map((row) => row[i]?.length ?? 0)));
  const format = (cells: readonly string[]) => cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0))).join('  ');

  console.log(`\n${heading}`);
  console.log(format(COLUMNS));
  for (const row of rows) console.log(format(row));

  for (const run of runs) {
    if (run.failures.length === 0) continue;
    console.log(`\n${run.label}: ${run.failures.length} failed check(s) (artifacts: ${run.artifacts})`);
    for (const { scenario, check, message } of run.failures) {
      console.log(`  ${check === scenario ? scenario : `${scenario} / ${check}`}: ${message}`);
    }
  }

  const passed = runs.reduce((sum, run) => sum + run.passed, 0);
  const failed = runs.reduce((sum, run) => sum + run.failed, 0);
  console.log(`\n${passed} passed, ${failed} failed`);
}
