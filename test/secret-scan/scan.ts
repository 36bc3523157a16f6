/**
 * The secret scan of a test run: every secret the tests registered (test/helpers/secret-values.ts)
 * searched, in all its forms (forms.ts), in every file of the output tap (gateway/output-tap.ts).
 * A hit names the tap file, the line and the secret's label, never the value.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { TAP_TRUNCATED } from '../../gateway/output-tap';
import { formsOf } from './forms';
import { MultiSearch, type Needle } from './multi-search';

export const SECRETS_DIR = 'secrets';

export interface Secret {
  label: string;
  value: string;
}

export interface Hit {
  /** The tap file, relative to the tap directory. */
  file: string;
  /** 1-based line of the first occurrence in the file. */
  line: number;
  label: string;
  what: string;
  /** Occurrences of this form of this secret in the file. */
  count: number;
}

export interface ScanReport {
  secrets: number;
  /** Labels of the secrets too short to search for. */
  tooShort: string[];
  forms: number;
  files: number;
  bytes: number;
  hits: Hit[];
  /** Tap files that reached their size limit: what came after was not written, so not scanned. */
  truncated: string[];
}

/** The registered secrets, one per distinct value (the first label wins). Throws naming a bad line. */
export function readSecrets(tap: string): Secret[] {
  const byValue = new Map<string, Secret>();
  const dir = join(tap, SECRETS_DIR);
  let files: string[];
  try {
    files = readdirSync(dir).filter((f) => f.endsWith('.jsonl'));
  } catch {
    return []; // no test registered a secret
  }
  for (const file of files) {
    readFileSync(join(dir, file), 'utf8')
      .split('\n')
      .forEach((line, i) => {
        if (!line) return;
        let secret: Secret;
        try {
          secret = JSON.parse(line) as Secret;
        } catch (err) {
          throw new Error(`${SECRETS_DIR}/${file}:${i + 1}: not a JSON line (${(err as Error).message})`, { cause: err });
        }
        if (typeof secret.label !== 'string' || typeof secret.value !== 'string')
          throw new Error(`${SECRETS_DIR}/${file}:${i + 1}: expected {"label": string, "value": string}`);
        if (!byValue.has(secret.value)) byValue.set(secret.value, secret);
      });
  }
  return [...byValue.values()];
}

/** Scans every file under `tap` (but the registered secrets) for every form of every secret. */
export function scanTap(tap: string): ScanReport {
  const secrets = readSecrets(tap);
  const needles: (Needle & { label: string; what: string })[] = [];
  const tooShort: string[] = [];
  for (const secret of secrets) {
    const forms = formsOf(secret.value);
    if (forms.length === 0) tooShort.push(secret.label);
    for (const form of forms) needles.push({ id: needles.length, bytes: Buffer.from(form.text), label: secret.label, what: form.what });
  }
  const search = new MultiSearch(needles);
  const report: ScanReport = { secrets: secrets.length, tooShort, forms: needles.length, files: 0, bytes: 0, hits: [], truncated: [] };
  for (const path of tapFiles(tap)) {
    const file = relative(tap, path);
    const text = readFileSync(path);
    report.files++;
    report.bytes += text.length;
    if (text.includes(TAP_TRUNCATED)) report.truncated.push(file);
    const inFile = new Map<number, Hit>();
    search.search(text, (needle, start) => {
      const hit = inFile.get(needle.id);
      if (hit) hit.count++;
      else inFile.set(needle.id, { file, line: lineAt(text, start), label: needles[needle.id].label, what: needles[needle.id].what, count: 1 });
    });
    report.hits.push(...inFile.values());
  }
  return report;
}

function tapFiles(tap: string): string[] {
  return readdirSync(tap, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && relative(tap, e.parentPath).split('/')[0] !== SECRETS_DIR)
    .map((e) => join(e.parentPath, e.name))
    .sort();
}

function lineAt(text: Buffer, offset: number): number {
  let line = 1;
  for (let i = text.indexOf(10); i !== -1 && i < offset; i = text.indexOf(10, i + 1)) line++;
  return line;
}
