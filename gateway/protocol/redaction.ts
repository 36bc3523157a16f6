/**
 * The secret values this process holds (resolved `${secret:...}` references), so that no log line
 * and no error message carries one: each is replaced by `[secret]`. The config's secret store
 * registers values as it resolves them and releases them when a rotation replaces them.
 *
 * Checking a text costs one `includes` per known form (the value, and its JSON-escaped form when
 * that differs), so the set is bounded: a config that needs more distinct values than
 * MAX_SECRET_VALUES is refused when it is loaded. Values shorter than MIN_SECRET_LENGTH cannot be
 * told apart from ordinary text and are refused too.
 *
 * Pure (no Node built-ins): errors.ts uses it, and Temporal workflow code imports errors.ts.
 */

export const REDACTED = '[secret]';
export const MIN_SECRET_LENGTH = 4;
export const MAX_SECRET_VALUES = 1024;

/** Held values and how many holders each has (the same value may back several references). */
const holders = new Map<string, number>();
/** The forms searched for, longest first, so a value that contains another is replaced whole. */
let forms: string[] = [];

/**
 * Registers a value to be redacted until the returned release is called (once per registration).
 * Throws when the value is too short to redact or the set is full.
 */
export function holdSecret(value: string): () => void {
  if (value.length < MIN_SECRET_LENGTH)
    throw new Error(`a secret value must have at least ${MIN_SECRET_LENGTH} characters to be kept out of logs (got ${value.length})`);
  const count = holders.get(value) ?? 0;
  if (count === 0 && holders.size >= MAX_SECRET_VALUES) throw new Error(`more than ${MAX_SECRET_VALUES} distinct secret values are held at once`);
  holders.set(value, count + 1);
  if (count === 0) rebuild();
  let released = false;
  return () => {
    if (released) return;
    released = true;
    const left = (holders.get(value) ?? 1) - 1;
    if (left > 0) holders.set(value, left);
    else {
      holders.delete(value);
      rebuild();
    }
  };
}

/** `text` with every held secret value replaced by `[secret]`; the same string when none occurs. */
export function redactSecrets(text: string): string {
  if (forms.length === 0) return text;
  let out = text;
  for (const form of forms) if (out.includes(form)) out = out.split(form).join(REDACTED);
  return out;
}

/** How many distinct values are held (for tests and the startup log). */
export function heldSecretCount(): number {
  return holders.size;
}

function rebuild(): void {
  const all = new Set<string>();
  for (const value of holders.keys()) {
    all.add(value);
    // a log line is JSON: a value with quotes, backslashes or control characters appears escaped
    all.add(JSON.stringify(value).slice(1, -1));
  }
  forms = [...all].sort((a, b) => b.length - a.length);
}
