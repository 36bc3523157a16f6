/**
 * What one upstream offers: its tools, prompts, resources and resource templates, fetched raw
 * (every page, unknown fields kept) so the gateway can merge them without losing anything, and an
 * index of it that answers "does this upstream have what a request names?" without a scan.
 */
import { FleetError, SdkCode } from '../protocol/errors';
import { compileTemplate, templateMatches, type CompiledTemplate } from '../protocol/uri-templates';
import type { UpstreamConnection } from '../upstream/connection';

export type ListKind = 'tools' | 'prompts' | 'resources' | 'resourceTemplates';
export type Item = Record<string, unknown>;
export type Catalog = Readonly<Record<ListKind, readonly Item[]>>;

export const LIST_KINDS: readonly ListKind[] = ['tools', 'prompts', 'resources', 'resourceTemplates'];

const LIST_METHOD: Record<ListKind, string> = {
  tools: 'tools/list',
  prompts: 'prompts/list',
  resources: 'resources/list',
  resourceTemplates: 'resources/templates/list',
};

/** The capability a server must declare for the list to exist. */
const CAPABILITY: Record<ListKind, string> = {
  tools: 'tools',
  prompts: 'prompts',
  resources: 'resources',
  resourceTemplates: 'resources',
};

/** The notification a server sends when a list changed; resources/list_changed covers templates too. */
export const LIST_CHANGED = new Map<string, readonly ListKind[]>([
  ['notifications/tools/list_changed', ['tools']],
  ['notifications/prompts/list_changed', ['prompts']],
  ['notifications/resources/list_changed', ['resources', 'resourceTemplates']],
]);

export const LIST_CHANGED_NOTIFICATION: Record<ListKind, string> = {
  tools: 'notifications/tools/list_changed',
  prompts: 'notifications/prompts/list_changed',
  resources: 'notifications/resources/list_changed',
  resourceTemplates: 'notifications/resources/list_changed',
};

/** What a client request names, and so what a backend must offer to serve it. */
export type Want = { kind: 'tool'; name: string } | { kind: 'prompt'; name: string } | { kind: 'resource'; uri: string } | { kind: 'any' };

export const ANY: Want = { kind: 'any' };

const MAX_PAGES = 1000;

export const EMPTY_CATALOG: Catalog = { tools: [], prompts: [], resources: [], resourceTemplates: [] };

export async function fetchCatalog(conn: UpstreamConnection, timeoutMs: number): Promise<Catalog> {
  const lists = await Promise.all(LIST_KINDS.map((kind) => fetchList(conn, kind, timeoutMs)));
  return { tools: lists[0], prompts: lists[1], resources: lists[2], resourceTemplates: lists[3] };
}

/** Every page of one list; an absent capability means an empty list. */
export async function fetchList(conn: UpstreamConnection, kind: ListKind, timeoutMs: number): Promise<Item[]> {
  if (!conn.capabilities[CAPABILITY[kind]]) return [];
  const items: Item[] = [];
  let cursor: string | undefined;
  for (let page = 0; page < MAX_PAGES; page++) {
    const response = await conn.request(LIST_METHOD[kind], cursor === undefined ? {} : { cursor }, { timeoutMs }).response;
    if ('error' in response) {
      // Some servers declare resources but not templates; a missing method is an empty list.
      if (response.error.code === SdkCode.MethodNotFound) return items;
      throw new FleetError('UPSTREAM_UNAVAILABLE', `server "${conn.serverName}" failed ${LIST_METHOD[kind]}: ${response.error.message}`);
    }
    const result = response.result;
    const pageItems = result[kind];
    if (Array.isArray(pageItems)) for (const item of pageItems) if (isItem(item)) items.push(item);
    cursor = typeof result.nextCursor === 'string' && result.nextCursor !== '' ? result.nextCursor : undefined;
    if (cursor === undefined) return items;
  }
  throw new FleetError('UPSTREAM_UNAVAILABLE', `server "${conn.serverName}" returned more than ${MAX_PAGES} pages for ${LIST_METHOD[kind]}`);
}

function isItem(value: unknown): value is Item {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A catalog's names and URIs, indexed once per change so routing a request is a lookup. */
export class CatalogIndex {
  private readonly tools: Set<unknown>;
  private readonly prompts: Set<unknown>;
  private readonly resources: Set<unknown>;
  private readonly templates: { raw: unknown; compiled: CompiledTemplate | undefined }[];

  constructor(readonly catalog: Catalog) {
    this.tools = new Set(catalog.tools.map((t) => t.name));
    this.prompts = new Set(catalog.prompts.map((p) => p.name));
    this.resources = new Set(catalog.resources.map((r) => r.uri));
    this.templates = catalog.resourceTemplates.map((t) => ({
      raw: t.uriTemplate,
      compiled: typeof t.uriTemplate === 'string' ? compileTemplate(t.uriTemplate) : undefined,
    }));
  }

  offers(want: Want): boolean {
    switch (want.kind) {
      case 'tool':
        return this.tools.has(want.name);
      case 'prompt':
        return this.prompts.has(want.name);
      case 'resource':
        return (
          this.resources.has(want.uri) || this.templates.some((t) => t.raw === want.uri || (t.compiled !== undefined && templateMatches(t.compiled, want.uri)))
        );
      case 'any':
        return true;
    }
  }
}
