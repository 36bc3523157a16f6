/**
 * Which prefix each server's tools and prompts get, and the load-time check that no two servers
 * would expose the same prefix.
 */
import type { ServerConfig } from './schema';
import { safeName } from '../protocol/names';

/** The prefix a server's names get, or undefined when they are exposed unprefixed. */
export function prefixOf(server: Pick<ServerConfig, 'name' | 'prefix'>): string | undefined {
  if (server.prefix === false) return undefined;
  return safeName(server.prefix ?? server.name);
}

/** Problems for servers whose prefixes would make their names indistinguishable. */
export function checkPrefixes(servers: ServerConfig[]): string[] {
  const owners = new Map<string, string>();
  const problems: string[] = [];
  for (const s of servers) {
    const p = prefixOf(s);
    if (p === undefined) continue;
    const other = owners.get(p);
    if (other !== undefined) problems.push(`servers.${s.name}: its prefix "${p}" is already used by server "${other}"; set "prefix" on one of them`);
    else owners.set(p, s.name);
  }
  return problems;
}
