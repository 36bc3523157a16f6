/**
 * The last cleanup step of a benchmark that starts containers: removes every container and network
 * carrying its label. A signal can arrive while a `docker run` is under way, which creates its
 * container after a first sweep looked; so the sweep waits for this process's own `docker` commands
 * to end (a container removed ends its `docker run -i` too) and looks once more.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { docker } from '../test/containers/support/docker';

const SETTLE_MS = 20_000;

/** Removes the containers, then the networks, labelled `label` (`key=value`). */
export async function sweepLabelled(label: string): Promise<void> {
  await removeAll(label);
  const deadline = Date.now() + SETTLE_MS;
  while (dockerChildren().length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  await removeAll(label);
}

async function removeAll(label: string): Promise<void> {
  const ids = (await docker('ps', '-a', '-q', '--filter', `label=${label}`)).split('\n').filter(Boolean);
  if (ids.length > 0) await docker('rm', '-f', '-v', ...ids);
  const networks = (await docker('network', 'ls', '-q', '--filter', `label=${label}`)).split('\n').filter(Boolean);
  if (networks.length > 0) await docker('network', 'rm', ...networks);
}

/** Live `docker` CLI processes whose parent is this process. */
function dockerChildren(): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // pid (comm) state ppid ...: comm may hold spaces, so split after its closing parenthesis
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (comm === 'docker' && state !== 'Z' && Number(ppid) === process.pid) pids.push(Number(entry));
    } catch {
      // ended while we looked
    }
  }
  return pids;
}
