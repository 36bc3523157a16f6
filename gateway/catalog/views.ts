/**
 * The merged views, built when first asked for and kept until what they show changes. Clients
 * without per-session servers share one view; a client with per-session servers has its own.
 * Name collisions and invalid templates are logged once when they appear, per gateway: each view
 * remembers what its last build found, so the memory stays the size of the current problems.
 */
import type { Logger } from 'pino';
import type { ServerRegistry } from '../servers/registry';
import { buildView, type CatalogView } from './view';

const SHARED = '';

export class CatalogViews {
  private readonly cache = new Map<string, CatalogView>();
  /** Per view key: the problem keys its last build found (and logged). */
  private readonly known = new Map<string, Set<string>>();

  constructor(
    private readonly registry: Pick<ServerRegistry, 'groupsFor' | 'owns'>,
    private readonly separator: string,
    private readonly log: Logger,
  ) {}

  /** The view of the client session `owner` (undefined: a client with no per-session servers). */
  for(owner: string | undefined): CatalogView {
    const key = owner !== undefined && this.registry.owns(owner) ? owner : SHARED;
    let view = this.cache.get(key);
    if (view) return view;
    const groups = this.registry.groupsFor(key === SHARED ? undefined : key);
    view = buildView(
      groups.map((g) => ({ server: g.name, prefix: g.plan.prefix, catalog: g.catalog })),
      this.separator,
    );
    this.cache.set(key, view);
    this.report(key, view);
    return view;
  }

  /** What `owner`'s servers offer changed (undefined: a shared server's, which every view shows). */
  invalidate(owner: string | undefined): void {
    if (owner === undefined) this.cache.clear();
    else this.cache.delete(owner);
  }

  /** The session ended. */
  forget(owner: string): void {
    this.cache.delete(owner);
    this.known.delete(owner);
  }

  private report(key: string, view: CatalogView): void {
    // A session's view repeats the shared servers' problems; those are the shared view's to report.
    if (key !== SHARED) this.for(undefined);
    const shared = key === SHARED ? undefined : this.known.get(SHARED);
    const before = this.known.get(key) ?? new Set<string>();
    const now = new Set<string>();
    for (const c of view.collisions) {
      now.add(c.key);
      if (before.has(c.key) || shared?.has(c.key)) continue;
      if (c.exposedAs !== undefined) {
        this.log.warn({ [c.what]: c.original, server: c.server, exposedAs: c.exposedAs, takenBy: c.takenBy }, `${c.what} name already taken; exposed under another name`);
      } else {
        const field = c.what === 'resource' ? 'uri' : 'uriTemplate';
        this.log.warn({ [field]: c.original, server: c.server, owner: c.takenBy }, `two servers list the same ${c.what === 'resource' ? 'resource URI' : 'resource template'}; the first server in config order serves it`);
      }
    }
    for (const t of view.invalidTemplates) {
      const k = `invalid-template:${t.uriTemplate}:${t.server}`;
      now.add(k);
      if (!before.has(k) && !shared?.has(k)) this.log.warn({ uriTemplate: t.uriTemplate, server: t.server }, 'resource template is not a valid URI template; left out');
    }
    this.known.set(key, now);
  }
}
