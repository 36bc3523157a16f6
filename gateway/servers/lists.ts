/**
 * What one upstream offers: its tools, prompts, resources and resource templates, fetched raw
 * (every page, unknown fields kept) so the gateway can merge them without losing anything.
 */
import { FleetError } from '../protocol/errors';
import type { UpstreamConnection } from '../upstream/connection';

export type ListKind = 'tools' | 'prompts' | 'resources' | 'resourceTemplates';
export type Item = Record<string, unknown>;
export type Catalog = Record<ListKind, Item[]>;

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

/** The notification a server sends when the list changed; resources/list_changed covers templates too. */
export const LIST_CHANGED: Record<string, ListKind[]> = {
  'notifications/tools/list_changed': ['tools'],
  'notifications/prompts/list_changed': ['prompts'],
  'notifications/resources/list_changed': ['resources', 'resourceTemplates'],
};

export const LIST_CHANGED_NOTIFICATION: Record<ListKind, string> = {
  tools: 'notifications/tools/list_changed',
  prompts: 'notifications/prompts/list_changed',
  resources: 'notifications/resources/list_changed',
  resourceTemplates: 'notifications/resources/list_changed',
};

const MAX_PAGES = 1000;

export function emptyCatalog(): Catalog {
  return { tools: [], prompts: [], resources: [], resourceTemplates: [] };
}

export async function fetchCatalog(conn: UpstreamConnection, timeoutMs: number): Promise<Catalog> {
  const lists = await Promise.all(LIST_KINDS.map((kind) => fetchList(conn, kind, timeoutMs)));
  return Object.fromEntries(LIST_KINDS.map((kind, i) => [kind, lists[i]])) as Catalog;
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
      if (response.error.code === -32601) return items;
      throw new FleetError('UPSTREAM_UNAVAILABLE', `server "${conn.serverName}" failed ${LIST_METHOD[kind]}: ${response.error.message}`);
    }
    const result = response.result;
    const pageItems = result[kind];
    if (Array.isArray(pageItems)) items.push(...(pageItems as Item[]));
    cursor = typeof result.nextCursor === 'string' && result.nextCursor !== '' ? result.nextCursor : undefined;
    if (cursor === undefined) return items;
  }
  throw new FleetError('UPSTREAM_UNAVAILABLE', `server "${conn.serverName}" returned more than ${MAX_PAGES} pages for ${LIST_METHOD[kind]}`);
}
