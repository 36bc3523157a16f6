/** Reading untyped JSON: the one check that a value is a plain object, for every layer that needs it. */

/** `v` as a record when it is a JSON object (not null, not an array); undefined otherwise. */
export function asObject(v: unknown): Record<string, unknown> | undefined {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}
