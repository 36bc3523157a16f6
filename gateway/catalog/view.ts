/**
 * The merged picture one client sees: every reachable server's tools, prompts, resources and
 * templates under exposed names, plus the indexes that route a name or URI back to its server.
 * Built from plain data (server name, prefix, catalog), so it holds nothing live; a route names
 * the server, and the relay finds that server's live group for the client it serves.
 */
import { mirroredParams, type MirroredParam } from '../protocol/mirrored-headers';
import { exposedName, safeName } from '../protocol/names';
import { compileTemplate, templateMatches, type CompiledTemplate } from '../protocol/uri-templates';
import type { Catalog, Item } from '../servers/lists';

export interface ViewSource {
  server: string;
  /** undefined: names are exposed as the server gives them. */
  prefix: string | undefined;
  catalog: Catalog;
}

export interface Route {
  server: string;
  /** The name the upstream knows. */
  name: string;
  /** A tool's parameters mirrored into Mcp-Param-* headers (x-mcp-header), when it has any. */
  mirrored?: readonly MirroredParam[];
}

/** Two servers offering the same thing; the first in config order keeps it. */
export interface Collision {
  what: 'tool' | 'prompt' | 'resource' | 'resourceTemplate';
  /** The name or URI as the later server gives it. */
  original: string;
  server: string;
  takenBy: string;
  /** Tools and prompts stay callable under this name; a resource or template is left out. */
  exposedAs?: string;
  /** Stable key for "already warned". */
  key: string;
}

export interface CatalogView {
  tools: Item[];
  prompts: Item[];
  resources: Item[];
  resourceTemplates: Item[];
  toolRoutes: Map<string, Route>;
  promptRoutes: Map<string, Route>;
  resourceOwners: Map<string, string>;
  templates: { template: CompiledTemplate; raw: string; server: string }[];
  collisions: Collision[];
  /** Templates that are not valid URI templates (left out), by server. */
  invalidTemplates: { server: string; uriTemplate: string }[];
  /** Tools whose x-mcp-header annotations break the spec's rules (left out, as an HTTP client must), by server. */
  invalidTools: { server: string; tool: string; reason: string }[];
}

export function buildView(sources: readonly ViewSource[], separator: string): CatalogView {
  const view: CatalogView = {
    tools: [],
    prompts: [],
    resources: [],
    resourceTemplates: [],
    toolRoutes: new Map(),
    promptRoutes: new Map(),
    resourceOwners: new Map(),
    templates: [],
    collisions: [],
    invalidTemplates: [],
    invalidTools: [],
  };
  const templateOwners = new Map<string, string>();
  for (const source of sources) {
    addNamed(view, 'tool', view.tools, view.toolRoutes, source, source.catalog.tools, separator);
    addNamed(view, 'prompt', view.prompts, view.promptRoutes, source, source.catalog.prompts, separator);
    for (const r of source.catalog.resources) {
      const uri = String(r.uri);
      const owner = view.resourceOwners.get(uri);
      if (owner !== undefined) {
        view.collisions.push({ what: 'resource', original: uri, server: source.server, takenBy: owner, key: `resource:${uri}:${source.server}` });
        continue;
      }
      view.resourceOwners.set(uri, source.server);
      view.resources.push(r);
    }
    for (const t of source.catalog.resourceTemplates) {
      const raw = String(t.uriTemplate);
      const owner = templateOwners.get(raw);
      if (owner !== undefined) {
        view.collisions.push({ what: 'resourceTemplate', original: raw, server: source.server, takenBy: owner, key: `template:${raw}:${source.server}` });
        continue;
      }
      const template = compileTemplate(raw);
      if (!template) {
        view.invalidTemplates.push({ server: source.server, uriTemplate: raw });
        continue;
      }
      templateOwners.set(raw, source.server);
      view.templates.push({ template, raw, server: source.server });
      view.resourceTemplates.push(t);
    }
  }
  return view;
}

function addNamed(
  view: CatalogView,
  what: 'tool' | 'prompt',
  out: Item[],
  routes: Map<string, Route>,
  source: ViewSource,
  items: readonly Item[],
  separator: string,
): void {
  for (const item of items) {
    const original = String(item.name);
    const mirrored = what === 'tool' ? mirroredParams(item.inputSchema) : [];
    if (!Array.isArray(mirrored)) {
      view.invalidTools.push({ server: source.server, tool: original, reason: mirrored.invalid });
      continue;
    }
    let name = exposedName(source.prefix, separator, original);
    const taken = routes.get(name);
    if (taken) {
      // Two unprefixed servers offer the same name: the later one keeps its tool under its own server name.
      const fallback = exposedName(safeName(source.server), separator, original);
      const alternative = routes.has(fallback) ? safeName(`${fallback}${separator}${routes.size}`) : fallback;
      view.collisions.push({ what, original, server: source.server, takenBy: taken.server, exposedAs: alternative, key: `${what}:${name}:${source.server}` });
      name = alternative;
    }
    routes.set(name, mirrored.length ? { server: source.server, name: original, mirrored } : { server: source.server, name: original });
    out.push(name === original ? item : { ...item, name });
  }
}

/** The server that owns a resource URI: a listed resource first, then a matching template. */
export function resourceOwner(view: CatalogView, uri: string): string | undefined {
  return view.resourceOwners.get(uri) ?? view.templates.find((t) => templateMatches(t.template, uri))?.server;
}

/** The server a completion's `ref/resource` belongs to: a template named as it is, else the owner of the URI. */
export function completionOwner(view: CatalogView, uri: string): string | undefined {
  return view.templates.find((t) => t.raw === uri)?.server ?? resourceOwner(view, uri);
}

/** The names this view exposes for one server's tools. */
export function exposedTools(view: CatalogView, server: string): string[] {
  const names: string[] = [];
  for (const [name, route] of view.toolRoutes) if (route.server === server) names.push(name);
  return names;
}
