/**
 * The syntax of secret references in config strings: `${secret:env:NAME}`,
 * `${secret:file:/run/secrets/name}` and `${secret:vault:MOUNT/PATH#FIELD}` (HashiCorp Vault KV
 * v2; the first path segment is the mount). A string may hold several references and text around
 * them ("Bearer ${secret:vault:secret/github#token}"); rendering replaces each with its value.
 */

export type SecretReference =
  | { kind: 'env'; key: string; text: string; name: string }
  | { kind: 'file'; key: string; text: string; path: string }
  | { kind: 'vault'; key: string; text: string; mount: string; path: string; field: string };

/** Any `${secret:...}`, well formed or not, so that a malformed one is reported instead of passed on. */
const ANY_REF = /\$\{secret:([^}]*)\}/g;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const VAULT_REF = /^([A-Za-z0-9_.-]+)\/([^#]+)#(.+)$/;

export function hasReference(text: string): boolean {
  return text.includes('${secret:');
}

/** The references in `text`, in order, or the problem with the first malformed one. */
export function findReferences(text: string): { refs: SecretReference[] } | { problem: string } {
  const refs: SecretReference[] = [];
  for (const m of text.matchAll(ANY_REF)) {
    const ref = parseReference(m[0], m[1]);
    if (typeof ref === 'string') return { problem: ref };
    refs.push(ref);
  }
  if (refs.length === 0 || text.replace(ANY_REF, '').includes('${secret:')) {
    return { problem: `${JSON.stringify(text.slice(text.indexOf('${secret:'), text.indexOf('${secret:') + 40))}… is not closed with "}"` };
  }
  return { refs };
}

function parseReference(text: string, body: string): SecretReference | string {
  const colon = body.indexOf(':');
  const kind = colon === -1 ? body : body.slice(0, colon);
  const rest = colon === -1 ? '' : body.slice(colon + 1);
  const key = `${kind}:${rest}`;
  switch (kind) {
    case 'env':
      if (!ENV_NAME.test(rest)) return `${text}: expected \${secret:env:NAME} with a variable name`;
      return { kind, key, text, name: rest };
    case 'file':
      if (!rest.startsWith('/')) return `${text}: expected \${secret:file:/absolute/path}`;
      return { kind, key, text, path: rest };
    case 'vault': {
      const m = VAULT_REF.exec(rest);
      if (!m) return `${text}: expected \${secret:vault:MOUNT/PATH#FIELD}, e.g. \${secret:vault:secret/github#token}`;
      return { kind, key, text, mount: m[1], path: m[2], field: m[3] };
    }
    default:
      return `${text}: unknown secret source "${kind}" (use env, file or vault)`;
  }
}

/** `template` with each reference replaced by its value from `values` (keyed by SecretReference.key). */
export function render(template: string, values: ReadonlyMap<string, string>): string {
  return template.replace(ANY_REF, (whole, body: string) => {
    const colon = body.indexOf(':');
    const value = values.get(colon === -1 ? `${body}:` : body);
    if (value === undefined) throw new Error(`no value for ${whole}`);
    return value;
  });
}
