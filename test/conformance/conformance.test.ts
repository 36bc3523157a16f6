/**
 * Runs `npm run conformance`'s runner (built into dist by `npm test`) so CI holds the gateway to
 * the official suite: every check must pass directly against the fixture and through the gateway.
 * It runs the compiled gateway and fixture, so it first refuses a dist/ older than their sources.
 */
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { requireCurrentBuild } from '../helpers/dist';

const RUNNER = resolve(__dirname, '..', '..', 'dist', 'test', 'conformance', 'run-conformance.js');

it('passes every check of the official conformance suite, directly and through the gateway', () => {
  requireCurrentBuild(['gateway', 'test/conformance']);
  const run = spawnSync(process.execPath, [RUNNER], { encoding: 'utf8', timeout: 240_000 });
  const output = `${run.stdout}\n${run.stderr}`;
  const closing = output.match(/^(\d+) passed, (\d+) failed$/m);
  expect({ exit: run.status, closing: closing?.[0] }).toEqual({ exit: 0, closing: expect.stringMatching(/^\d+ passed, 0 failed$/) });
  expect(Number(closing![1])).toBeGreaterThanOrEqual(80);
  expect(output).toMatch(/^gateway\s+\d+\s+40\s+0\s/m);
}, 300_000);
