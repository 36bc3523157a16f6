/**
 * Groups that left the registry but still finish what they were asked: a server removed or
 * replaced by a config reload takes no new calls, while the calls in flight on its old groups
 * finish (up to a drain timeout); then the groups stop. Kept here until then, so that a new call
 * that names what they offered is told why it is refused, and so that shutdown stops them too.
 */
import type { Logger } from 'pino';
import type { GroupListener, ServerGroup } from './group';

export class Drains {
  private readonly groups = new Set<ServerGroup>();

  constructor(
    private readonly listener: GroupListener,
    private readonly log: Logger,
  ) {}

  /** The groups draining now. */
  get all(): ServerGroup[] {
    return [...this.groups];
  }

  /**
   * Drains a group that left the registry: its clients hear at once that what it offered is gone,
   * and it stops once no call is in flight on it, or after `timeoutMs`. Resolves once it stopped.
   */
  async drain(group: ServerGroup, timeoutMs: number): Promise<void> {
    const offered = group.offeredLists();
    this.groups.add(group);
    this.listener.listsChanged(group, offered);
    if (group.callsInFlight > 0) this.log.info({ server: group.name, inFlight: group.callsInFlight, drainTimeoutMs: timeoutMs }, 'server draining');
    try {
      await group.idle(timeoutMs);
      if (group.callsInFlight > 0)
        this.log.warn({ server: group.name, inFlight: group.callsInFlight }, 'drain timeout passed; stopping the server with calls in flight');
      await group.stop();
    } finally {
      this.groups.delete(group);
    }
  }

  /** The draining server whose lists offered `name` (an exposed tool or prompt name, or a resource URI). */
  serverOffering(name: string, separator: string): string | undefined {
    for (const group of this.groups) if (group.offersExposed(name, separator)) return group.name;
    return undefined;
  }
}
