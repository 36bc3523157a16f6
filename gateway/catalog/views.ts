/**
 * The merged views, built when first asked for and kept until what they show changes. Clients
 * that own no group share one view; a client with per-session servers has its own, and the clients
 * of one principal with per-principal servers (and no per-session ones) share the principal's.
 * Name collisions and invalid templates are logged once when they appear, per gateway: each view
 * remembers what its last build found and each problem how many views have it, so a problem is
 * logged again only after it went away, and the memory stays the size of the current problems.
 */
import type { Logger } from 'pino';
import type { Reach, ServerRegistry } from '../servers/registry';
import { buildView, type CatalogView } from './view';

const SHARED = '';

export class CatalogViews {
  private readonly cache = new Map<string, CatalogView>();
  /** Per view key: the problems its last build found. */
  private readonly known = new Map<string, Set<string>>();
  /** Per problem: how many views have it now (it is logged when the first one is built). */
  private readonly views = new Map<string, number>();

  constructor(
    private readonly registry: Pick<ServerRegistry, 'groupsFor' | 'viewKey'>,
    readonly separator: string,
    private readonly log: Logger,
  ) {}

  /** The view of a client that reaches `reach` (undefined: the shared servers only). */
  for(reach: Reach | undefined): CatalogView {
    const key = this.registry.viewKey(reach) ?? SHARED;
    let view = this.cache.get(key);
    if (view) return view;
    const groups = this.registry.groupsFor(key === SHARED ? undefined : reach);
    view = buildView(
      groups.map((g) => ({ server: g.name, prefix: g.plan.prefix, catalog: g.catalog })),
      this.separator,
    );
    this.cache.set(key, view);
    this.report(key, view);
    return view;
  }

  /**
   * What `owner`'s servers offer changed (undefined: a shared server's, which every view shows, or a
   * tenant's, which its sessions' own views show too).
   */
  invalidate(owner: string | undefined): void {
    if (owner === undefined) this.cache.clear();
    else this.cache.delete(owner);
  }

  /** The session ended. */
  forget(owner: string): void {
    this.cache.delete(owner);
    for (const problem of this.known.get(owner) ?? []) this.count(problem, -1);
    this.known.delete(owner);
  }

  /** Logs each problem once per gateway: when the first view that has it is built. */
  private report(key: string, view: CatalogView): void {
    const now = new Map<string, () => void>();
    for (const c of view.collisions) {
      now.set(c.key, () => {
        if (c.exposedAs !== undefined) {
          this.log.warn(
            { [c.what]: c.original, server: c.server, exposedAs: c.exposedAs, takenBy: c.takenBy },
            `${c.what} name already taken; exposed under another name`,
          );
        } else {
          const field = c.what === 'resource' ? 'uri' : 'uriTemplate';
          this.log.warn(
            { [field]: c.original, server: c.server, owner: c.takenBy },
            `two servers list the same ${c.what === 'resource' ? 'resource URI' : 'resource template'}; the first server in config order serves it`,
          );
        }
      });
    }
    for (const t of view.invalidTemplates) {
      now.set(`invalid-template:${t.uriTemplate}:${t.server}`, () =>
        this.log.warn({ uriTemplate: t.uriTemplate, server: t.server }, 'resource template is not a valid URI template; left out'),
      );
    }
    for (const t of view.invalidTools) {
      now.set(`invalid-tool:${t.tool}:${t.server}`, () =>
        this.log.warn({ tool: t.tool, server: t.server, reason: t.reason }, 'tool has an invalid x-mcp-header annotation; left out'),
      );
    }
    const before = this.known.get(key) ?? new Set<string>();
    for (const [problem, warn] of now) if (!before.has(problem) && this.count(problem, +1) === 1) warn();
    for (const problem of before) if (!now.has(problem)) this.count(problem, -1);
    this.known.set(key, new Set(now.keys()));
  }

  /** How many views have `problem` now, after adding `delta`. */
  private count(problem: string, delta: number): number {
    const n = (this.views.get(problem) ?? 0) + delta;
    if (n > 0) this.views.set(problem, n);
    else this.views.delete(problem);
    return n;
  }
}
