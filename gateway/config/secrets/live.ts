/**
 * A string map (a remote server's headers, a server's environment) whose entries may hold secret
 * references, kept current as the secret store announces rotations. The config object stays as
 * it was loaded; a transport reads `current()` each time it sends (headers) or starts (env).
 */
import { render } from './references';
import type { SecretStore } from './store';

export interface LiveStrings {
  /** The map as it is now, with every reference rendered. */
  current(): Readonly<Record<string, string>>;
  /** The keys whose values come from secret references. */
  readonly secretKeys: ReadonlySet<string>;
  /** Told after a rotation changed the map; returns the unsubscribe. */
  onChange(listener: () => void): () => void;
}

/**
 * `templates` are the map's entries that hold references (as written, after `${VAR}` expansion),
 * `refKeys` the store keys each uses; the other entries of `resolved` never change.
 */
export function liveStrings(
  store: SecretStore,
  resolved: Readonly<Record<string, string>>,
  templates: ReadonlyMap<string, { template: string; refKeys: readonly string[] }>,
): LiveStrings {
  let now: Readonly<Record<string, string>> = resolved;
  const listeners = new Set<() => void>();
  const used = new Set([...templates.values()].flatMap((t) => t.refKeys));
  store.onChange((changed) => {
    if (![...changed].some((k) => used.has(k))) return;
    const next = { ...now };
    for (const [key, { template }] of templates) next[key] = render(template, store.values);
    now = next;
    for (const listener of listeners) listener();
  });
  return {
    current: () => now,
    secretKeys: new Set(templates.keys()),
    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
