/**
 * The real load balancers in front of gateway replicas, each running the config file users get
 * (haproxy/mcp-lb.cfg, nginx/load-balancer.conf) with only the lines it marks as "replaced by the
 * test" changed: its listen port, the replicas' addresses (loopback ports here), and for haproxy
 * where its list of tools safe to repeat is (haproxy/mcp-idempotent-tools.lst unless a test gives its own).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from '../containers/support/docker';
import { nginxPrefix, runNginx } from './nginx';
import { freePort } from './ports';
import { runForeground } from './foreground';

export const HAPROXY_CFG = join(ROOT, 'haproxy', 'mcp-lb.cfg');
export const HAPROXY_IDEMPOTENT_TOOLS = join(ROOT, 'haproxy', 'mcp-idempotent-tools.lst');
export const NGINX_LB_CONF = join(ROOT, 'nginx', 'load-balancer.conf');

export interface LoadBalancer {
  url: string;
  /** What it wrote to stderr. */
  stderr: string[];
  stop(): Promise<void>;
}

/** `text` with every `replica N` line pointed at the Nth port and the listen line at `listenPort`; throws if a marked line is missing. */
export function renderLbConfig(text: string, what: string, listen: [RegExp, string], server: string, ports: readonly number[]): string {
  if (!listen[0].test(text)) throw new Error(`${what} no longer has a line matching ${listen[0]}; update test/helpers/load-balancers.ts`);
  let out = text.replace(listen[0], listen[1]);
  const names = new Set([...out.matchAll(new RegExp(server, 'gm'))].map((m) => m[2]));
  if (names.size !== ports.length) throw new Error(`${what} names ${names.size} replicas (${[...names].join(', ')}); the test runs ${ports.length}`);
  const order = [...names];
  out = out.replace(new RegExp(server, 'gm'), (_line, lead: string, name: string, rest: string) => `${lead}127.0.0.1:${ports[order.indexOf(name)]}${rest}`);
  return out;
}

const IDEMPOTENT_TOOLS_LINE = /^(\s*acl repeatable_tool .* -f )\S+( # replaced by the test)$/m;

export function renderHaproxy(listenPort: number, ports: readonly number[], idempotentToolsFile = HAPROXY_IDEMPOTENT_TOOLS): string {
  const text = readFileSync(HAPROXY_CFG, 'utf8');
  if (!IDEMPOTENT_TOOLS_LINE.test(text))
    throw new Error(`haproxy/mcp-lb.cfg no longer has a line matching ${IDEMPOTENT_TOOLS_LINE}; update test/helpers/load-balancers.ts`);
  return renderLbConfig(
    text.replace(IDEMPOTENT_TOOLS_LINE, (_l, lead: string, tail: string) => `${lead}${idempotentToolsFile}${tail}`),
    'haproxy/mcp-lb.cfg',
    [/^(\s*)bind :8080 # replaced by the test$/m, `$1bind 127.0.0.1:${listenPort}`],
    /^(\s*server \S+ )(gateway-\d+):8080( .*)?# replaced by the test$/.source,
    ports,
  );
}

export function renderNginxLb(listenPort: number, ports: readonly number[]): string {
  return renderLbConfig(
    readFileSync(NGINX_LB_CONF, 'utf8'),
    'nginx/load-balancer.conf',
    [/^(\s*)listen 8080; # replaced by the test$/m, `$1listen 127.0.0.1:${listenPort};`],
    /^(\s*server )(gateway-\d+):8080( [^#]*;) # replaced by the test$/.source,
    ports,
  );
}

/** haproxy with mcp-lb.cfg in front of the replicas on `ports`; `idempotentTools` replaces the list users get. */
export async function startHaproxy(ports: readonly number[], options: { idempotentTools?: readonly string[] } = {}): Promise<LoadBalancer> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'mcp-fleet-haproxy-'));
  const cfg = join(dir, 'mcp-lb.cfg');
  let tools = HAPROXY_IDEMPOTENT_TOOLS;
  if (options.idempotentTools) writeFileSync((tools = join(dir, 'idempotent-tools.lst')), `${options.idempotentTools.join('\n')}\n`);
  writeFileSync(cfg, renderHaproxy(port, ports, tools));
  const haproxy = await runForeground('haproxy', ['-db', '-f', cfg], port, () => rmSync(dir, { recursive: true, force: true }));
  return { url: `http://127.0.0.1:${port}`, ...haproxy };
}

/** nginx with load-balancer.conf in front of the replicas on `ports`. */
export async function startNginxLb(ports: readonly number[]): Promise<LoadBalancer> {
  const port = await freePort();
  return runNginx(nginxPrefix(renderNginxLb(port, ports), undefined, 'load-balancer.conf'), port, 'http');
}
