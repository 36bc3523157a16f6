/**
 * The secret scan can fail: a tap directory with a secret planted in a log line (in several of the
 * forms the gateway could leak it in) makes the scan CLI exit 1 and name the file, line and label,
 * never the value; a clean one passes; a truncated tap file fails, as output that was not scanned.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { TAP_TRUNCATED } from '../../gateway/output-tap';
import { requireCurrentBuild } from '../helpers/dist';
import { formsOf } from './forms';
import { MultiSearch } from './multi-search';

const CLI = resolve(__dirname, '..', '..', 'dist', 'test', 'secret-scan', 'cli.js');
const KEY = 'planted-api-key-0123456789abcdefghij';
const PEM = '-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgplantedplanted\n-----END PRIVATE KEY-----\n';

let tap: string;

beforeAll(() => requireCurrentBuild(['test/secret-scan']));

beforeEach(() => {
  tap = mkdtempSync(join(tmpdir(), 'mcp-fleet-scan-test-'));
  mkdirSync(join(tap, 'secrets'));
  const secrets = [
    { label: 'the planted key (scan.test.ts)', value: KEY },
    { label: 'the planted PEM (scan.test.ts)', value: PEM },
    { label: 'a short one (scan.test.ts)', value: 'wrong' },
  ];
  writeFileSync(join(tap, 'secrets', '1.jsonl'), secrets.map((s) => JSON.stringify(s)).join('\n') + '\n');
});

afterEach(() => rmSync(tap, { recursive: true, force: true }));

async function scan(): Promise<{ code: number; out: string }> {
  try {
    const { stdout } = await promisify(execFile)(process.execPath, [CLI, tap]);
    return { code: 0, out: stdout };
  } catch (err: any) {
    return { code: err.code, out: `${err.stdout}${err.stderr}` };
  }
}

const logLine = (msg: string) => `${JSON.stringify({ level: 30, service: 'mcp-gateway', msg })}\n`;

describe('the secret scan CLI', () => {
  it('passes a tap holding no secret, and says which secrets were too short to search', async () => {
    writeFileSync(join(tap, 'log-1.log'), logLine('gateway listening') + logLine('api key [secret] refused'));
    writeFileSync(join(tap, 'metrics-1.log'), 'mcp_gateway_sessions{front="ws"} 1\n');
    const { code, out } = await scan();
    expect(code).toBe(0);
    expect(out).toMatch(/secret scan: 3 test secrets \(\d+ forms\) in 2 tap files .*: no secret found; 1 shorter than 8 characters not searched \(a short one/);
  });

  it('fails on a planted secret, naming file, line, label and form but never the value', async () => {
    const hash = createHash('sha256').update(KEY).digest('hex');
    const basic = Buffer.from(`client:${KEY}`).toString('base64');
    writeFileSync(join(tap, 'log-1.log'), logLine('clean') + logLine(`refused key ${KEY}`) + logLine(`hash sha256:${hash}`) + logLine(`Basic ${basic}`));
    writeFileSync(join(tap, 'stderr-2.log'), `mcp-gateway: cannot read ${JSON.stringify(PEM)}\n`);
    const { code, out } = await scan();
    expect(code).toBe(1);
    expect(out).toContain('FOUND log-1.log:2: the planted key (scan.test.ts), as it is');
    expect(out).toContain('FOUND log-1.log:3: the planted key (scan.test.ts), as its SHA-256');
    expect(out).toContain('FOUND log-1.log:4: the planted key (scan.test.ts), base64-encoded');
    expect(out).toContain('FOUND stderr-2.log:1: the planted PEM (scan.test.ts), JSON-escaped');
    expect(out).toContain('FOUND stderr-2.log:1: the planted PEM (scan.test.ts), line 2 of it'); // inside the escaped whole
    expect(out).toContain('5 finding(s)');
    expect(out).not.toContain(KEY);
    expect(out).not.toContain('MIGHAgEA');
  });

  it('fails when a tap file was truncated: its end was never scanned', async () => {
    writeFileSync(join(tap, 'log-1.log'), logLine('busy') + TAP_TRUNCATED);
    const { code, out } = await scan();
    expect(code).toBe(1);
    expect(out).toContain("log-1.log reached the tap's size limit");
  });

  it('refuses a registration that is not a JSON line, naming it', async () => {
    writeFileSync(join(tap, 'secrets', '2.jsonl'), 'not json\n');
    const { code, out } = await scan();
    expect(code).toBe(2);
    expect(out).toContain('secrets/2.jsonl:1: not a JSON line');
  });
});

describe('the forms of a secret', () => {
  const found = (value: string, text: string) => {
    const forms = formsOf(value);
    const search = new MultiSearch(forms.map((f, id) => ({ id, bytes: Buffer.from(f.text) })));
    const what: string[] = [];
    search.search(Buffer.from(text), (n) => what.push(forms[n.id].what));
    return what;
  };

  it('finds the value base64-encoded at any offset of a larger encoded text', () => {
    for (const prefix of ['a:', 'ab:', 'abc:']) expect(found(KEY, Buffer.from(`${prefix}${KEY}:tail`).toString('base64'))).toContain('base64-encoded');
  });

  it('finds one line of a PEM key quoted alone, but not its armour', () => {
    expect(found(PEM, 'key line MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgplantedplanted seen')).toEqual(['line 2 of it']);
    expect(found(PEM, '-----BEGIN PRIVATE KEY-----')).toEqual([]);
  });

  it('searches nothing for a value shorter than 8 characters', () => {
    expect(formsOf('short')).toEqual([]);
  });
});

describe('the multi-needle search', () => {
  it('finds needles at the start and the end of the text, overlapping ones and repeats', () => {
    const needles = ['abcdefgh', 'cdefghij', 'xyzxyzxyz'].map((s, id) => ({ id, bytes: Buffer.from(s) }));
    const seen: [number, number][] = [];
    new MultiSearch(needles).search(Buffer.from('abcdefghij--xyzxyzxyzxyz'), (n, start) => seen.push([n.id, start]));
    expect(seen).toEqual([
      [0, 0],
      [1, 2],
      [2, 12],
      [2, 15],
    ]);
  });

  it('refuses a needle shorter than its window', () => {
    expect(() => new MultiSearch([{ id: 0, bytes: Buffer.from('short') }])).toThrow('a needle must have at least 8 bytes (got 5)');
  });
});
