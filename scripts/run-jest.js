#!/usr/bin/env node
/**
 * Runs jest with its normal output, then the secret scan of its output tap, then prints the plain
 * closing line CI counts ("N passed, N failed, N skipped") from jest's JSON report, the scan
 * counted as one more test. Exits non-zero when jest or the scan fails.
 *
 * The tap: MCP_FLEET_OUTPUT_TAP names a fresh directory for the run, so every gateway the tests
 * start (in the jest workers and in the processes they spawn) copies its log lines, metrics scrapes
 * and CLI error lines there (gateway/output-tap.ts), and the tests register the secrets they make
 * (test/helpers/secret-values.ts). dist/test/secret-scan/cli.js then searches the one for the other.
 * The directory is removed afterwards, unless the scan found something (then it is kept to look at).
 */
const { spawnSync } = require('node:child_process');
const { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } = require('node:fs');
const { join } = require('node:path');
const { tmpdir } = require('node:os');

const dir = mkdtempSync(join(tmpdir(), 'mcp-fleet-jest-'));
const report = join(dir, 'report.json');
const tap = join(dir, 'tap');
mkdirSync(tap);
const jest = require.resolve('jest/bin/jest');
const run = spawnSync(process.execPath, [jest, '--json', `--outputFile=${report}`, ...process.argv.slice(2)], {
  stdio: 'inherit',
  env: { ...process.env, MCP_FLEET_OUTPUT_TAP: tap },
});

const scanner = join(__dirname, '..', 'dist', 'test', 'secret-scan', 'cli.js');
let scanPassed = false;
if (existsSync(scanner)) scanPassed = spawnSync(process.execPath, [scanner, tap], { stdio: 'inherit' }).status === 0;
else console.error(`run-jest: no secret scan at ${scanner}: run \`npm run build\` first`);

let summary = `${scanPassed ? 1 : 0} passed, ${scanPassed ? 0 : 1} failed`;
try {
  const r = JSON.parse(readFileSync(report, 'utf8'));
  const skipped = r.numPendingTests + r.numTodoTests;
  const passed = r.numPassedTests + (scanPassed ? 1 : 0);
  const failed = r.numFailedTests + r.numRuntimeErrorTestSuites + (scanPassed ? 0 : 1);
  summary = `${passed} passed, ${failed} failed` + (skipped ? `, ${skipped} skipped` : '');
} catch (err) {
  console.error(`run-jest: no jest report (${err.message})`);
}
if (scanPassed) rmSync(dir, { recursive: true, force: true });
else console.error(`run-jest: the output tap is kept in ${tap}`);
console.log(summary);
const jestStatus = run.status ?? 1;
process.exit(jestStatus !== 0 ? jestStatus : scanPassed ? 0 : 1);
