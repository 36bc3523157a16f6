/**
 * `node dist/test/secret-scan/cli.js TAP_DIR`: the secret scan of a test run (scan.ts), run by
 * scripts/run-jest.js after jest. Prints one line per finding (file, line, the secret's label and
 * form) and a summary; exits 1 when a secret was found or a tap file was truncated, 2 on bad input.
 */
import { scanTap, type ScanReport } from './scan';
import { MIN_FORM_LENGTH } from './forms';

function main(): number {
  const tap = process.argv[2];
  if (!tap || process.argv.length > 3) {
    process.stderr.write('usage: node dist/test/secret-scan/cli.js TAP_DIR\n');
    return 2;
  }
  const started = process.hrtime.bigint();
  let report: ScanReport;
  try {
    report = scanTap(tap);
  } catch (err) {
    process.stderr.write(`secret scan: cannot scan ${tap}: ${(err as Error).message}\n`);
    return 2;
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  for (const h of report.hits)
    process.stdout.write(`secret scan: FOUND ${h.file}:${h.line}: ${h.label}, ${h.what}${h.count > 1 ? ` (${h.count} times in this file)` : ''}\n`);
  for (const file of report.truncated) process.stdout.write(`secret scan: ${file} reached the tap's size limit: the rest of its output was not scanned\n`);
  const mib = (report.bytes / 1024 / 1024).toFixed(1);
  const short = report.tooShort.length
    ? `; ${report.tooShort.length} shorter than ${MIN_FORM_LENGTH} characters not searched (${report.tooShort.join(', ')})`
    : '';
  const verdict = report.hits.length ? `${report.hits.length} finding(s)` : 'no secret found';
  process.stdout.write(
    `secret scan: ${report.secrets} test secrets (${report.forms} forms) in ${report.files} tap files (${mib} MiB), ${seconds.toFixed(1)} s: ${verdict}${short}\n`,
  );
  return report.hits.length || report.truncated.length ? 1 : 0;
}

process.exitCode = main();
