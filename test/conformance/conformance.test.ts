/**
 * Runs `npm run conformance`'s runner (built into dist by `npm test`) so CI holds the fixture and
 * the gateway to the official suite: every check of every scenario must pass directly against the
 * fixture for 2026-07-28 and for 2025-11-25, and through the gateway for 2025-11-25. It runs the
 * compiled gateway and fixture, so it first refuses a dist/ older than their sources.
 */
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { requireCurrentBuild } from '../helpers/dist';

const RUNNER = resolve(__dirname, '..', '..', 'dist', 'test', 'conformance', 'run-conformance.js');

/** The scenarios @modelcontextprotocol/conformance 0.2.0-alpha.12 (pinned) runs per revision with --suite all. */
const SCENARIOS = { '2026-07-28': 40, '2025-11-25': 33 };

function verdict(output: string, label: string, specVersion: keyof typeof SCENARIOS) {
  const line = new RegExp(`^${label} ${specVersion}: (\\d+)/(\\d+) checks passed, \\d+ warning\\(s\\), (\\d+) scenarios$`, 'm').exec(output);
  return line && { passed: Number(line[1]), total: Number(line[2]), scenarios: Number(line[3]) };
}

it('passes every check of the official conformance suite: both revisions directly, 2025-11-25 through the gateway', () => {
  requireCurrentBuild(['gateway', 'test/conformance']);
  const run = spawnSync(process.execPath, [RUNNER], { encoding: 'utf8', timeout: 240_000 });
  const output = `${run.stdout}\n${run.stderr}`;

  expect({ exit: run.status, closing: output.match(/^\d+ passed, \d+ failed$/m)?.[0] }).toEqual({
    exit: 0,
    closing: expect.stringMatching(/^\d+ passed, 0 failed$/),
  });
  for (const [label, specVersion] of [
    ['fixture', '2026-07-28'],
    ['fixture', '2025-11-25'],
    ['gateway', '2025-11-25'],
  ] as const) {
    const found = verdict(output, label, specVersion);
    expect({ label, specVersion, found }).toEqual({
      label,
      specVersion,
      found: { passed: found?.total, total: expect.any(Number), scenarios: SCENARIOS[specVersion] },
    });
    // A suite that ran but checked next to nothing must not pass as "all of nothing".
    expect(found!.total).toBeGreaterThanOrEqual(2 * SCENARIOS[specVersion]);
  }
}, 300_000);
