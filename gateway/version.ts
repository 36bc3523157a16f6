/** The package version, read once from package.json (which sits two levels up in src and in dist). */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

function findVersion(): string {
  for (const dir of [join(__dirname, '..'), join(__dirname, '..', '..')]) {
    try {
      return (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version: string }).version;
    } catch {
      // not here; try one level up
    }
  }
  return '0.0.0';
}

export const version = findVersion();
