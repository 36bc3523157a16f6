/**
 * What a principal's lists show: the merged view less what the policy refuses it. Routing keeps
 * the whole view, so that a direct call of a refused tool is told which rule refused it rather
 * than that the tool does not exist. Filtered views are kept per view and principal key (a view is
 * replaced whenever what it shows changes, which drops its filtered copies with it), and a policy
 * without rules returns the view itself. When the policy's rules are replaced (a config reload),
 * every filtered copy is dropped.
 */
import { Policy, type Target } from '../auth/policy';
import type { Principal } from '../auth/principal';
import type { Item } from '../servers/lists';
import type { CatalogView } from './view';

/** Filtered copies kept per view: enough for the principals active at once; more are rebuilt on use. */
const MAX_PER_VIEW = 256;

export class PermittedViews {
  private cache = new WeakMap<CatalogView, Map<string, CatalogView>>();
  private generation: number;

  constructor(private readonly policy: Policy) {
    this.generation = policy.generation;
  }

  of(view: CatalogView, principal: Principal): CatalogView {
    if (this.policy.open) return view;
    if (this.generation !== this.policy.generation) {
      this.cache = new WeakMap();
      this.generation = this.policy.generation;
    }
    let copies = this.cache.get(view);
    if (!copies) this.cache.set(view, (copies = new Map()));
    const key = Policy.key(principal);
    let filtered = copies.get(key);
    if (filtered) return filtered;
    filtered = this.filter(view, principal);
    if (copies.size >= MAX_PER_VIEW) copies.delete(copies.keys().next().value!);
    copies.set(key, filtered);
    return filtered;
  }

  private filter(view: CatalogView, principal: Principal): CatalogView {
    const shows = (target: Target | undefined) => target !== undefined && this.policy.lists(principal, target);
    const templateOwners = new Map(view.templates.map((t) => [t.raw, t.server]));
    const named = (kind: 'tool' | 'prompt', routes: CatalogView['toolRoutes']) => (item: Item) => {
      const route = routes.get(String(item.name));
      return shows(route && { server: route.server, kind, name: route.name });
    };
    const owned = (owner: string | undefined, uri: string): Target | undefined =>
      owner === undefined ? undefined : { server: owner, kind: 'resource', name: uri };
    return {
      ...view,
      tools: view.tools.filter(named('tool', view.toolRoutes)),
      prompts: view.prompts.filter(named('prompt', view.promptRoutes)),
      resources: view.resources.filter((r) => shows(owned(view.resourceOwners.get(String(r.uri)), String(r.uri)))),
      resourceTemplates: view.resourceTemplates.filter((t) => shows(owned(templateOwners.get(String(t.uriTemplate)), String(t.uriTemplate)))),
    };
  }
}
