/**
 * JSON with object keys in sorted order, so that equal values written in another key order give
 * the same text: for digests (a request across its rounds, a backend's tool schemas) and for
 * comparing configs. Members JSON.stringify leaves out (undefined, functions) are left out here too.
 */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const entries: string[] = [];
    for (const key of Object.keys(value).sort()) {
      const member = (value as Record<string, unknown>)[key];
      if (member !== undefined && typeof member !== 'function') entries.push(`${JSON.stringify(key)}:${canonicalJson(member)}`);
    }
    return `{${entries.join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}
