/**
 * Exposed names for tools and prompts. The spec allows 1-128 characters of [A-Za-z0-9_.-]; a name
 * that breaks the rule is mapped deterministically (bad characters replaced, a short hash of the
 * original appended) so it stays callable and distinct, never silently dropped.
 */
import { createHash } from 'node:crypto';

const MAX_LENGTH = 128;
const ALLOWED = /^[A-Za-z0-9_.-]{1,128}$/;

export function isSafeName(name: string): boolean {
  return ALLOWED.test(name);
}

/** `name` itself when it obeys the spec, else a deterministic safe variant of it. */
export function safeName(name: string): string {
  if (isSafeName(name)) return name;
  const hash = createHash('sha256').update(name).digest('hex').slice(0, 8);
  const cleaned = name.replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, MAX_LENGTH - hash.length - 1);
  return `${cleaned}-${hash}`;
}

/** The name clients see for an upstream name; `prefix` undefined exposes it as it is (made safe). */
export function exposedName(prefix: string | undefined, separator: string, name: string): string {
  return safeName(prefix === undefined ? name : `${prefix}${separator}${name}`);
}
