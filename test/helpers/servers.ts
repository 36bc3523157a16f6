/**
 * Config entries for the real reference MCP servers from npm, run with this Node directly (no npx,
 * so tests do not pay for package resolution). Each carries a marker variable so tests can find
 * every process a gateway started, grandchildren included, by reading /proc.
 */
import { dirname, join } from 'node:path';

const pkgBin = (pkg: string) => join(dirname(require.resolve(`${pkg}/package.json`)), 'dist', 'index.js');

export const EVERYTHING_BIN = pkgBin('@modelcontextprotocol/server-everything');
export const MEMORY_BIN = pkgBin('@modelcontextprotocol/server-memory');
export const FILESYSTEM_BIN = pkgBin('@modelcontextprotocol/server-filesystem');
export const MARKER_VAR = 'MCP_FLEET_TEST_MARKER';

export function everything(marker: string, extra: Record<string, unknown> = {}) {
  return { command: process.execPath, args: [EVERYTHING_BIN, 'stdio'], env: { [MARKER_VAR]: marker }, ...extra };
}

export function memory(marker: string, memoryFile: string, extra: Record<string, unknown> = {}) {
  return { command: process.execPath, args: [MEMORY_BIN], env: { [MARKER_VAR]: marker, MEMORY_FILE_PATH: memoryFile }, ...extra };
}

export function filesystem(marker: string, root: string, extra: Record<string, unknown> = {}) {
  return { command: process.execPath, args: [FILESYSTEM_BIN, root], env: { [MARKER_VAR]: marker }, ...extra };
}
