/**
 * The real nginx (Debian's; scripts/ci-nginx.sh installs it when missing) running nginx/websocket.conf
 * for a test: one foreground process with a temp prefix, on a free loopback port, in front of a
 * gateway on another. The config file is used as users get it, with only the lines it marks as
 * "replaced by the test" changed.
 */
import { execFile, execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import type { CertDir } from './certs';
import { freePort } from './ports';
import { runForeground } from './foreground';

const ROOT = resolve(__dirname, '..', '..');
export const WEBSOCKET_CONF = join(ROOT, 'nginx', 'websocket.conf');

/** Installs nginx unless it is on PATH (apt-get, about 20 s on a fresh machine). */
export function ensureNginx(): void {
  execFileSync('bash', [join(ROOT, 'scripts', 'ci-nginx.sh')], { stdio: 'inherit' });
}

export interface Nginx {
  /** https://127.0.0.1:PORT */
  url: string;
  /** What nginx wrote to stderr (its error log). */
  stderr: string[];
  stop(): Promise<void>;
}

/** websocket.conf with its listen port and upstream address replaced, nothing else. */
export function renderWebsocketConf(text: string, listenPort: number, gatewayPort: number): string {
  const replacements: [RegExp, string][] = [
    [/^(\s*)server \S+; # the gateway; replaced by the test$/m, `$1server 127.0.0.1:${gatewayPort};`],
    [/^(\s*)listen 443 ssl; # replaced by the test$/m, `$1listen 127.0.0.1:${listenPort} ssl;`],
    [/^\s*listen \[::\]:443 ssl;\n/m, ''], // tests listen on loopback only
  ];
  return replacements.reduce((conf, [pattern, replacement]) => {
    if (!pattern.test(conf)) throw new Error(`nginx/websocket.conf no longer has a line matching ${pattern}; update test/helpers/nginx.ts`);
    return conf.replace(pattern, replacement);
  }, text);
}

/** A prefix directory with nginx.conf including `conf` (as `file`) and, given, the certificates where it expects them. */
export function nginxPrefix(conf: string, certs?: CertDir, file = 'websocket.conf'): string {
  const prefix = mkdtempSync(join(tmpdir(), 'mcp-fleet-nginx-'));
  mkdirSync(join(prefix, 'mcp-fleet', 'tls'), { recursive: true });
  mkdirSync(join(prefix, 'logs'));
  if (certs) {
    copyFileSync(certs.serverCert, join(prefix, 'mcp-fleet', 'tls', 'server.crt'));
    copyFileSync(certs.serverKey, join(prefix, 'mcp-fleet', 'tls', 'server.key'));
  }
  writeFileSync(join(prefix, file), conf);
  const temp = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((t) => `  ${t}_temp_path ${join(prefix, t)};`).join('\n');
  writeFileSync(
    join(prefix, 'nginx.conf'),
    `daemon off;\nmaster_process off;\nworker_processes 1;\npid ${join(prefix, 'nginx.pid')};\nerror_log stderr notice;\n` +
      `events { worker_connections 256; }\nhttp {\n  access_log off;\n${temp}\n  include ${file};\n}\n`,
  );
  return prefix;
}

/** `nginx -t` on a prefix: resolves with its output, rejects with it when the config is refused. */
export async function nginxTest(prefix: string): Promise<string> {
  const { stderr } = await promisify(execFile)('nginx', ['-t', '-p', prefix, '-c', join(prefix, 'nginx.conf')]);
  return stderr;
}

/** nginx with websocket.conf in front of the gateway on `gatewayPort`, serving `certs`' server certificate. */
export async function startNginx(gatewayPort: number, certs: CertDir): Promise<Nginx> {
  const port = await freePort();
  const prefix = nginxPrefix(renderWebsocketConf(readFileSync(WEBSOCKET_CONF, 'utf8'), port, gatewayPort), certs);
  return runNginx(prefix, port, 'https');
}

/** Runs nginx on a prepared prefix (checked with -t first) until `stop()`; it listens on `port`. */
export async function runNginx(prefix: string, port: number, scheme: 'http' | 'https'): Promise<Nginx> {
  await nginxTest(prefix);
  const nginx = await runForeground('nginx', ['-p', prefix, '-c', join(prefix, 'nginx.conf')], port, () => rmSync(prefix, { recursive: true, force: true }));
  return { url: `${scheme}://127.0.0.1:${port}`, ...nginx };
}
