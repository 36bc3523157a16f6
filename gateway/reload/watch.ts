/**
 * Watches the config file for changes, the way editors and deploy tools make them: written in
 * place, written to a temporary file and renamed over it, or swapped through a symlinked directory
 * (Kubernetes ConfigMaps). So the directory is watched, not the file (a watch on a file that is
 * renamed over follows the old inode), every event in it is debounced, and a change counts only
 * when the file's bytes differ from the last ones seen: a touch or an unrelated file is no reload.
 */
import { createHash } from 'node:crypto';
import { readFileSync, watch, type FSWatcher } from 'node:fs';
import { dirname } from 'node:path';
import type { Logger } from 'pino';

export interface ConfigWatch {
  close(): void;
}

/** Calls `changed` once after each burst of events (`debounceMs`: long enough for an editor's write-rename-chmod burst) that leaves the file's content different. */
export function watchConfigFile(file: string, changed: () => void, log: Logger, debounceMs: number): ConfigWatch {
  let seen = digest(file);
  let timer: NodeJS.Timeout | undefined;
  const settle = () => {
    const now = digest(file);
    // missing or unreadable mid-rename: the next event (the file's arrival) settles it
    if (now === undefined || now === seen) return;
    seen = now;
    changed();
  };
  let watcher: FSWatcher | undefined;
  try {
    watcher = watch(dirname(file), () => {
      clearTimeout(timer);
      timer = setTimeout(settle, debounceMs);
    });
    watcher.on('error', (err) => log.warn({ file, err: err.message }, 'cannot watch the config file; reload it with SIGHUP or POST /admin/reload'));
  } catch (err) {
    log.warn({ file, err: (err as Error).message }, 'cannot watch the config file; reload it with SIGHUP or POST /admin/reload');
  }
  return {
    close() {
      clearTimeout(timer);
      watcher?.close();
    },
  };
}

function digest(file: string): string | undefined {
  try {
    return createHash('sha256').update(readFileSync(file)).digest('hex');
  } catch {
    return undefined;
  }
}
