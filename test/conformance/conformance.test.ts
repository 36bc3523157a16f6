/**
 * Runs `npm run conformance`'s runner (built into dist by `npm test`) so CI holds the fixture and
 * the gateway to the official suite: every check of every scenario of 2026-07-28 and of 2025-11-25
 * must pass directly against the fixture, and through the gateway in front of the fixture as a
 * 2026-07-28 server (stdio) and as a 2025-11-25 server (Streamable HTTP): all four pairs of client
 * and server era. The tasks extension's scenarios must pass against the fixture and through the
 * gateway to it as a 2026-07-28 server. It runs the compiled gateway and fixture, so it first refuses a dist/ older than
 * their sources.
 */
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { requireCurrentBuild } from '../helpers/dist';

const RUNNER = resolve(__dirname, '..', '..', 'dist', 'test', 'conformance', 'run-conformance.js');

/** The scenarios @modelcontextprotocol/conformance 0.2.0-alpha.12 (pinned) runs per revision with --suite all, and of the tasks extension. */
const SCENARIOS = { '2026-07-28': 40, '2025-11-25': 33, 'tasks-extension': 10 };

function verdict(output: string, label: string, specVersion: keyof typeof SCENARIOS) {
  const line = new RegExp(`^${label} ${specVersion}: (\\d+)/(\\d+) checks passed, \\d+ warning\\(s\\), (\\d+) known limit\\(s\\), (\\d+) scenarios$`, 'm').exec(
    output,
  );
  return line && { passed: Number(line[1]), total: Number(line[2]), limits: Number(line[3]), scenarios: Number(line[4]) };
}

it('passes every check of the official conformance suite: both revisions directly and through the gateway to either server era', () => {
  requireCurrentBuild(['gateway', 'test/conformance']);
  const run = spawnSync(process.execPath, [RUNNER], { encoding: 'utf8', timeout: 540_000 });
  const output = `${run.stdout}\n${run.stderr}`;

  expect({ exit: run.status, closing: output.match(/^\d+ passed, \d+ failed$/m)?.[0] }).toEqual({
    exit: 0,
    closing: expect.stringMatching(/^\d+ passed, 0 failed$/),
  });
  // every check passes, except on a 2025 server behind the gateway the four that test what only a 2026 server can give (run-conformance.ts)
  for (const [label, specVersion, limits] of [
    ['fixture', '2026-07-28', 0],
    ['fixture', '2025-11-25', 0],
    ['fixture', 'tasks-extension', 0],
    ['gateway', '2026-07-28', 0],
    ['gateway', '2025-11-25', 0],
    ['gateway', 'tasks-extension', 0],
    ['gateway-http2025', '2026-07-28', 4],
    ['gateway-http2025', '2025-11-25', 0],
  ] as const) {
    const found = verdict(output, label, specVersion);
    expect({ label, specVersion, found }).toEqual({
      label,
      specVersion,
      found: { passed: found ? found.total - limits : -1, total: expect.any(Number), limits, scenarios: SCENARIOS[specVersion] },
    });
    // A suite that ran but checked next to nothing must not pass as "all of nothing".
    expect(found!.total).toBeGreaterThanOrEqual(2 * SCENARIOS[specVersion]);
  }
}, 600_000);
