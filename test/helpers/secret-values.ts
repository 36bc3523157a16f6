/**
 * The secret values the tests make (API keys, admin tokens, client secrets, access tokens, signing
 * and TLS private keys, Vault tokens, values behind `${secret:...}`), registered for the scan that
 * runs after jest (test/secret-scan/): no log line, metrics scrape or CLI error line of the whole
 * run may contain one. Wrap a secret where it is made, `const KEY = testSecret('reader-key-...')`:
 * the scan proves only what it knows.
 *
 * Each registration appends `{"label":...,"value":...}` to `<tap>/secrets/<pid>.jsonl` in the
 * output tap directory (gateway/output-tap.ts); outside a tapped run it does nothing. The label
 * names where the secret was made (the caller's file and line, and `label` when given); the scan
 * prints labels, never values.
 */
import { appendFileSync, mkdirSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { OUTPUT_TAP_VAR } from '../../gateway/output-tap';

const ROOT = resolve(__dirname, '..', '..');
/** Values this module already wrote (a helper may hand out the same secret many times). */
const registered = new Set<string>();

/** Registers `value` as a secret of this test run and returns it. */
export function testSecret<T extends string>(value: T, label?: string): T {
  const dir = process.env[OUTPUT_TAP_VAR];
  if (!dir || registered.has(value)) return value;
  registered.add(value);
  const where = callerLocation();
  const secrets = join(dir, 'secrets');
  mkdirSync(secrets, { recursive: true });
  appendFileSync(join(secrets, `${process.pid}.jsonl`), `${JSON.stringify({ label: label ? `${label} (${where})` : where, value })}\n`);
  return value;
}

/** The first caller outside the helpers, as `test/x.test.ts:12` (or the helper's own line when a helper made the secret on its own). */
function callerLocation(): string {
  const frames = (new Error().stack ?? '')
    .split('\n')
    .slice(1)
    .map((line) => /\(?([^()\s]+):(\d+):\d+\)?$/.exec(line))
    .filter((m): m is RegExpExecArray => m !== null && !/secret-values\.[jt]s$|^node:|\/node_modules\//.test(m[1]));
  const frame = frames.find((m) => !m[1].includes('/test/helpers/')) ?? frames[0];
  return frame ? `${relative(ROOT, frame[1])}:${frame[2]}` : 'unknown place';
}
