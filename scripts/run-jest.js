#!/usr/bin/env node
/**
 * Runs jest with its normal output, then prints the plain closing line CI counts
 * ("N passed, N failed, N skipped") from jest's JSON report. Exits with jest's exit code.
 */
const { spawnSync } = require('node:child_process');
const { mkdtempSync, readFileSync, rmSync } = require('node:fs');
const { join } = require('node:path');
const { tmpdir } = require('node:os');

const dir = mkdtempSync(join(tmpdir(), 'mcp-fleet-jest-'));
const report = join(dir, 'report.json');
const jest = require.resolve('jest/bin/jest');
const run = spawnSync(process.execPath, [jest, '--json', `--outputFile=${report}`, ...process.argv.slice(2)], { stdio: 'inherit' });
let summary = '0 passed, 0 failed';
try {
  const r = JSON.parse(readFileSync(report, 'utf8'));
  const skipped = r.numPendingTests + r.numTodoTests;
  summary = `${r.numPassedTests} passed, ${r.numFailedTests + r.numRuntimeErrorTestSuites} failed` + (skipped ? `, ${skipped} skipped` : '');
} catch (err) {
  console.error(`run-jest: no jest report (${err.message})`);
}
rmSync(dir, { recursive: true, force: true });
console.log(summary);
process.exit(run.status ?? 1);
