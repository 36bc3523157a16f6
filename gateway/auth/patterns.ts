/**
 * The name patterns of the auth config: `*` matches any run of characters, `?` one character,
 * everything else itself. Matched by the two-pointer wildcard walk (back to the last `*` on a
 * mismatch), which costs at most name × pattern steps, where a regular expression with several
 * `.*` can take polynomially more on a hostile name.
 */
export function compilePattern(pattern: string): (name: string) => boolean {
  if (!/[*?]/.test(pattern)) return (name) => name === pattern;
  return (name) => wildcardMatch(pattern, name);
}

/** Any of `patterns` matches; an absent list matches everything. */
export function compileAny(patterns: readonly string[] | undefined): ((name: string) => boolean) | undefined {
  if (patterns === undefined) return undefined;
  const tests = patterns.map(compilePattern);
  return (name) => tests.some((t) => t(name));
}

function wildcardMatch(pattern: string, name: string): boolean {
  let p = 0;
  let n = 0;
  let star = -1;
  let resume = 0;
  while (n < name.length) {
    if (p < pattern.length && (pattern[p] === '?' || (pattern[p] !== '*' && pattern[p] === name[n]))) {
      p++;
      n++;
    } else if (p < pattern.length && pattern[p] === '*') {
      star = p++;
      resume = n;
    } else if (star >= 0) {
      p = star + 1;
      n = ++resume;
    } else {
      return false;
    }
  }
  while (p < pattern.length && pattern[p] === '*') p++;
  return p === pattern.length;
}
