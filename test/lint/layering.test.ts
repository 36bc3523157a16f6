/**
 * The import direction is enforced, not hoped for: dependency-cruiser with the project's own rules
 * (.dependency-cruiser.cjs) finds no violation in the tree, and does find one planted in a copy.
 */
import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

const ROOT = resolve(__dirname, '..', '..');
const DEPCRUISE = join(ROOT, 'node_modules', '.bin', 'depcruise');
const run = promisify(execFile);

interface Violation {
  from: string;
  to: string;
  rule: { name: string };
}

/** Cruises `dirs` under `cwd` with the project's rules; the violations found. */
async function violations(cwd: string, dirs: string[]): Promise<Violation[]> {
  const { stdout } = await run(DEPCRUISE, [...dirs, '--config', '.dependency-cruiser.cjs', '--output-type', 'json'], {
    cwd,
    maxBuffer: 64 * 1024 * 1024,
  }).catch(
    (err: { stdout?: string }) => ({ stdout: err.stdout ?? '' }), // depcruise exits non-zero when it finds violations
  );
  return (JSON.parse(stdout) as { summary: { violations: Violation[] } }).summary.violations;
}

jest.setTimeout(120_000);

test('the tree has no import that points up a layer, no cycle, and no workflow import of Node built-ins', async () => {
  expect(await violations(ROOT, ['gateway', 'activities', 'pipeline', 'workflows'])).toEqual([]);
});

test('a lower layer importing a higher one is found and named', async () => {
  const copy = mkdtempSync(join(tmpdir(), 'mcp-fleet-layers-'));
  try {
    for (const entry of ['gateway', 'test', 'tsconfig.json', '.dependency-cruiser.cjs', 'package.json'])
      cpSync(join(ROOT, entry), join(copy, entry), { recursive: true });
    symlinkSync(join(ROOT, 'node_modules'), join(copy, 'node_modules'));
    writeFileSync(join(copy, 'gateway', 'protocol', 'upward.ts'), "import type { ServerPlan } from '../servers/plan';\nexport type Planned = ServerPlan;\n");
    writeFileSync(join(copy, 'gateway', 'upstream', 'also-upward.ts'), "import { Relay } from '../relay/relay';\nexport const R = Relay;\n");
    const found = await violations(copy, ['gateway']);
    expect(found.map((v) => [v.rule.name, v.from, v.to])).toEqual([
      ['layer-protocol', 'gateway/protocol/upward.ts', 'gateway/servers/plan.ts'],
      ['layer-upstream', 'gateway/upstream/also-upward.ts', 'gateway/relay/relay.ts'],
    ]);
  } finally {
    rmSync(copy, { recursive: true, force: true });
  }
});
