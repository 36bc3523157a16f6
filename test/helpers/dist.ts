/**
 * Whether dist/ holds the current build of the sources a test runs as compiled JavaScript (the
 * gateway CLI, fixtures, workers). Jest compiles only the test's own sources; a test that spawns
 * dist/ would otherwise test whatever the last `npm run build` left there, silently.
 */
import { readdirSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';

const ROOT = resolve(__dirname, '..', '..');

/**
 * Throws naming every source under `dirs` (relative to the checkout) whose compiled file in dist/
 * is missing or older than the source. Only modification times are compared: cheap, and a checkout
 * or edit always makes the source newer. Test files are skipped: the build leaves them out.
 */
export function requireCurrentBuild(dirs: readonly string[]): void {
  const stale = dirs
    .flatMap((dir) => sources(join(ROOT, dir)))
    .filter((source) => {
      const built = join(ROOT, 'dist', relative(ROOT, source)).replace(/\.ts$/, '.js');
      try {
        return statSync(built).mtimeMs < statSync(source).mtimeMs;
      } catch {
        return true;
      }
    });
  if (stale.length > 0) {
    const names = stale.map((s) => relative(ROOT, s));
    throw new Error(
      `dist/ is older than ${names.length} source(s) (${names.slice(0, 5).join(', ')}${names.length > 5 ? ', ...' : ''}): run \`npm run build\` first`,
    );
  }
}

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts') && !e.name.endsWith('.test.ts') && !e.name.endsWith('.d.ts'))
    .map((e) => join(e.parentPath, e.name));
}
