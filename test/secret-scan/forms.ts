/**
 * The shapes a secret can take in the gateway's output, each searched for by the scan: the value
 * itself, escaped as a JSON string (once, or twice when a JSON text is logged inside a JSON line),
 * URL-encoded, its SHA-256 in hex (how API keys are stored, which must not be logged either), its
 * base64 and base64url encoding wherever it starts inside the encoded text (a Basic credential
 * `id:secret`), and each line of a multi-line value (a PEM key, one line of which may be quoted).
 *
 * Forms shorter than MIN_FORM_LENGTH are not searched: ordinary text holds such strings by chance,
 * so a secret shorter than that (a test's `'wrong'` token) is reported as not searched instead.
 */
import { createHash } from 'node:crypto';

export const MIN_FORM_LENGTH = 8;
/** Derived forms (encodings, lines) are longer than their secret's rarity needs: keep chance matches out. */
const MIN_DERIVED_LENGTH = 16;

export interface Form {
  /** How the secret appears in this form, for the report ("its SHA-256"). */
  what: string;
  text: string;
}

/** The forms of `value` worth searching for, without repeats; empty when the value is too short. */
export function formsOf(written: string): Form[] {
  // a value read from a file loses its surrounding whitespace (the final newline) on its way in
  const value = written.trim();
  if (value.length < MIN_FORM_LENGTH) return [];
  const json = JSON.stringify(value).slice(1, -1);
  const forms: Form[] = [
    { what: 'as it is', text: value },
    { what: 'JSON-escaped', text: json },
    { what: 'JSON-escaped twice', text: JSON.stringify(json).slice(1, -1) },
    { what: 'URL-encoded', text: encodeURIComponent(value) },
    { what: 'as its SHA-256', text: createHash('sha256').update(value).digest('hex') },
    ...base64Forms(value),
    ...lineForms(value),
  ];
  const seen = new Set<string>();
  return forms.filter((f) => f.text.length >= MIN_FORM_LENGTH && !seen.has(f.text) && seen.add(f.text));
}

/**
 * Base64 of a value that starts at byte `shift` (mod 3) of the encoded text: the characters that do
 * not depend on the bytes around it, that is without the first group (shared with what precedes)
 * and the last partial one (shared with what follows).
 */
function base64Forms(value: string): Form[] {
  const forms: Form[] = [];
  for (const shift of [0, 1, 2]) {
    const bytes = Buffer.concat([Buffer.alloc(shift), Buffer.from(value)]);
    const whole = Math.floor(bytes.length / 3) * 4;
    for (const encoding of ['base64', 'base64url'] as const) {
      const text = bytes.toString(encoding).slice(shift === 0 ? 0 : 4, whole);
      if (text.length >= MIN_DERIVED_LENGTH) forms.push({ what: `${encoding}-encoded`, text });
    }
  }
  return forms;
}

/** The lines of a multi-line value, without PEM armour (`-----BEGIN ...-----` is no secret). */
function lineForms(value: string): Form[] {
  const lines = value.split(/\r?\n/).map((l) => l.trim());
  if (lines.length < 2) return [];
  return lines.flatMap((text, i) => (text.length >= MIN_DERIVED_LENGTH && !text.startsWith('-----') ? [{ what: `line ${i + 1} of it`, text }] : []));
}
