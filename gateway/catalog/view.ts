/**
 * The merged picture one client sees: every reachable server's tools, prompts, resources and
 * templates under exposed names, plus the indexes that route a name or URI back to its server.
 */
import { UriTemplate } from '@modelcontextprotocol/sdk/shared/uriTemplate.js';
import type { Logger } from 'pino';
import type { ServerLink } from '../servers/group';
import type { Item } from '../servers/lists';
import { exposedName, safeName } from '../protocol/names';

export interface Route {
  link: ServerLink;
  /** The name the upstream knows. */
  name: string;
}

export interface CatalogView {
  tools: Item[];
  prompts: Item[];
  resources: Item[];
  resourceTemplates: Item[];
  toolRoutes: Map<string, Route>;
  promptRoutes: Map<string, Route>;
  resourceOwners: Map<string, ServerLink>;
  templateOwners: { template: UriTemplate; raw: string; link: ServerLink }[];
}

export function buildView(links: ServerLink[], separator: string, log: Logger): CatalogView {
  const view: CatalogView = {
    tools: [],
    prompts: [],
    resources: [],
    resourceTemplates: [],
    toolRoutes: new Map(),
    promptRoutes: new Map(),
    resourceOwners: new Map(),
    templateOwners: [],
  };
  for (const link of links) {
    addNamed(view.tools, view.toolRoutes, link, link.catalog.tools, separator, log, 'tool');
    addNamed(view.prompts, view.promptRoutes, link, link.catalog.prompts, separator, log, 'prompt');
    for (const r of link.catalog.resources) {
      const uri = r.uri as string;
      if (view.resourceOwners.has(uri)) {
        warnOnce(log, `resource:${uri}:${link.name}`, { uri, server: link.name, owner: view.resourceOwners.get(uri)!.name }, 'two servers list the same resource URI; the first server in config order serves it');
        continue;
      }
      view.resourceOwners.set(uri, link);
      view.resources.push(r);
    }
    for (const t of link.catalog.resourceTemplates) {
      const raw = t.uriTemplate as string;
      try {
        view.templateOwners.push({ template: new UriTemplate(raw), raw, link });
        view.resourceTemplates.push(t);
      } catch {
        warnOnce(log, `template:${raw}:${link.name}`, { uriTemplate: raw, server: link.name }, 'resource template is not a valid URI template; left out');
      }
    }
  }
  return view;
}

function addNamed(out: Item[], routes: Map<string, Route>, link: ServerLink, items: Item[], separator: string, log: Logger, what: string): void {
  for (const item of items) {
    const original = String(item.name);
    let name = exposedName(link.prefix, separator, original);
    if (routes.has(name)) {
      // Two unprefixed servers offer the same name: the later one keeps its tool under its own server name.
      const fallback = exposedName(safeName(link.name), separator, original);
      const alternative = routes.has(fallback) ? safeName(`${fallback}${separator}${routes.size}`) : fallback;
      warnOnce(log, `${what}:${name}:${link.name}`, { [what]: original, server: link.name, exposedAs: alternative, takenBy: routes.get(name)!.link.name }, `${what} name already taken; exposed under another name`);
      name = alternative;
    }
    routes.set(name, { link, name: original });
    out.push(name === original ? item : { ...item, name });
  }
}

/** Finds the server that owns a resource URI: a listed resource first, then a matching template. */
export function resourceOwner(view: CatalogView, uri: string): ServerLink | undefined {
  const listed = view.resourceOwners.get(uri);
  if (listed) return listed;
  return view.templateOwners.find((t) => matches(t.template, uri))?.link;
}

/** Whether a URI fits a resource template (an invalid template fits nothing). */
export function templateMatches(rawTemplate: string, uri: string): boolean {
  try {
    return matches(new UriTemplate(rawTemplate), uri);
  } catch {
    return false;
  }
}

function matches(template: UriTemplate, uri: string): boolean {
  try {
    return template.match(uri) !== null;
  } catch {
    return false; // a template that cannot match this URI
  }
}

const warned = new Set<string>();
function warnOnce(log: Logger, key: string, fields: Record<string, unknown>, msg: string): void {
  if (warned.has(key)) return;
  warned.add(key);
  log.warn(fields, msg);
}
