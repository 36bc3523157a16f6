/**
 * What a new config file changes against the one in force, as a hot reload applies it: servers
 * added, removed, changed (any setting of theirs differs) and unchanged; the settings that are
 * swapped live (policy, rate limits, the config's API keys, the log level, the call line, the
 * trace export); and the settings that
 * only a restart can change (the listener, TLS, the store, ...), named by field so that the
 * operator is told rather than ignored. Pure: nothing here touches a live part.
 */
import type { GatewayConfig, ServerConfig } from './schema';
import { canonicalJson } from '../protocol/canonical-json';

/** The settings a reload swaps without a restart, by field path. */
export type LiveSetting = 'policy' | 'rateLimits' | 'auth.apiKeys.keys' | 'log.level' | 'log.calls' | 'tracing';

export interface ConfigDiff {
  servers: {
    added: string[];
    removed: string[];
    /** Replaced: a new upstream is started, the old one drained. */
    changed: string[];
    /** Left as they are: same upstreams, same sessions. */
    unchanged: string[];
  };
  /** Live settings that differ; each is swapped at once. */
  swapped: LiveSetting[];
  /** Settings that differ but take effect only after a restart (not applied). */
  needsRestart: string[];
}

/**
 * What a reload did, as the admin API answers it and the log tells it. `restored`: changed servers
 * that the admin API had removed at run time, which the reload served again from the file.
 */
export type ReloadOutcome =
  | ({ result: 'applied'; trigger: string; durationMs: number; restored?: string[] } & ConfigDiff)
  | { result: 'refused'; trigger: string; file: string; error: string; problems: string[] };

export function diffConfigs(before: GatewayConfig, after: GatewayConfig): ConfigDiff {
  const old = new Map(before.servers.map((s) => [s.name, s]));
  const next = new Map(after.servers.map((s) => [s.name, s]));
  const servers: ConfigDiff['servers'] = { added: [], removed: [], changed: [], unchanged: [] };
  for (const [name, config] of next) {
    const was = old.get(name);
    if (!was) servers.added.push(name);
    else if (sameServer(was, config)) servers.unchanged.push(name);
    else servers.changed.push(name);
  }
  for (const name of old.keys()) if (!next.has(name)) servers.removed.push(name);

  const swapped: LiveSetting[] = [];
  const needsRestart: string[] = [];
  const { servers: _a, ...settingsBefore } = before;
  const { servers: _b, ...settingsAfter } = after;
  const keys = new Set([...Object.keys(settingsBefore), ...Object.keys(settingsAfter)]) as Set<keyof typeof settingsBefore>;
  for (const key of keys) {
    const a = settingsBefore[key];
    const b = settingsAfter[key];
    if (same(a, b)) continue;
    if (key === 'policy') swapped.push(key);
    else if (key === 'rateLimits') {
      const { rules: rulesA, ...storeA } = before.rateLimits;
      const { rules: rulesB, ...storeB } = after.rateLimits;
      if (!same(rulesA, rulesB)) swapped.push(key);
      // the bucket store (its size, whether it is shared) is made once
      needsRestart.push(...changedFields(key, storeA, storeB));
    } else if (key === 'log') {
      if (!same(before.log.level, after.log.level)) swapped.push('log.level');
      if (!same(before.log.calls, after.log.calls)) swapped.push('log.calls');
    } else if (key === 'tracing') swapped.push(key);
    else if (key === 'auth') diffAuth(before, after, swapped, needsRestart);
    else needsRestart.push(...changedFields(key, a, b));
  }
  return { servers, swapped, needsRestart };
}

/**
 * The config's API keys are swapped (the key file and keys added at run time stay); any other
 * change of `auth` (adding or dropping a method, OAuth settings, the key file's path) needs a restart.
 */
function diffAuth(before: GatewayConfig, after: GatewayConfig, swapped: LiveSetting[], needsRestart: string[]): void {
  const a = before.auth;
  const b = after.auth;
  if (typeof a === 'object' && typeof b === 'object' && a.apiKeys && b.apiKeys) {
    const { apiKeys: ka, ...restA } = a;
    const { apiKeys: kb, ...restB } = b;
    if (!same(ka.keys, kb.keys)) swapped.push('auth.apiKeys.keys');
    if (!same(ka.file, kb.file)) needsRestart.push('auth.apiKeys.file');
    for (const key of new Set([...Object.keys(restA), ...Object.keys(restB)]) as Set<keyof typeof restA>)
      if (!same(restA[key], restB[key])) needsRestart.push(`auth.${key}`);
    return;
  }
  needsRestart.push('auth');
}

/** The first level of fields below `key` that differ (`http.maxBodyBytes`), or `key` itself for a value that is no object. */
function changedFields(key: string, a: unknown, b: unknown): string[] {
  if (!isObject(a) || !isObject(b)) return [key];
  const fields = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...fields].filter((f) => !same(a[f], b[f])).map((f) => `${key}.${f}`);
}

/**
 * Two server entries are the same when every setting is; live secret values (getters over the
 * secret store) compare by what they resolve to now, so a rotated secret is a change.
 */
export function sameServer(a: ServerConfig, b: ServerConfig): boolean {
  return same(a, b);
}

function same(a: unknown, b: unknown): boolean {
  return canonicalJson(a) === canonicalJson(b);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null;
}
