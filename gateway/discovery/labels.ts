/**
 * What a container's labels say about the MCP server in it: the server it serves (a new one, or one
 * more replica of a server of that name), how it is reached on the watched network, and the
 * settings a server entry would have. Pure: the watcher (docker-watch.ts) feeds it what Docker
 * reports, and the result goes through the config file's own server schema.
 *
 * Labels, under the configured prefix (default `mcp-fleet`):
 *   server     the server name (required; marks the container as an MCP server)
 *   port       default 8080          path   default /mcp (/sse, /ws for those transports)
 *   transport  streamable-http (default) | sse | websocket
 *   tls        true: https:// or wss://
 *   weight     this replica's share of traffic, default 100
 *   prefix, mode, protocol   as in a servers: entry (prefix "false" exposes names unprefixed)
 */
import type { DockerDiscoverySettings } from '../config/discovery-schema';
import { parseServer } from '../config/load';
import type { ServerConfig } from '../config/schema';
import { TRANSPORT_FIELDS } from '../servers/runtime-backends';

export interface LabelledServer {
  server: string;
  weight: number;
  /** A server entry of its own: what a server discovery makes for it is. */
  config: ServerConfig;
  /**
   * What it brings as one more backend of a server of another origin (runtime-backends.ts): its
   * address and transport, and the transport fields of `defaults` (credentials, TLS); every other
   * setting is the server's.
   */
  transport: Record<string, unknown>;
}

const KNOWN = ['server', 'port', 'path', 'transport', 'tls', 'weight', 'prefix', 'mode', 'protocol'];
const NAME = /^[A-Za-z0-9_.-]{1,64}$/;
const DEFAULT_PATH: Record<string, string> = { 'streamable-http': '/mcp', sse: '/sse', websocket: '/ws' };

/** The server a container serves, or the problems of its labels (each naming the label). */
export function serverFromLabels(
  labels: Readonly<Record<string, string>>,
  host: string,
  settings: DockerDiscoverySettings,
): LabelledServer | { problems: string[] } {
  const p = settings.labelPrefix;
  const label = (key: string): string | undefined => labels[`${p}.${key}`];
  const problems: string[] = [];
  for (const key of Object.keys(labels)) {
    if (key.startsWith(`${p}.`) && !KNOWN.includes(key.slice(p.length + 1)))
      problems.push(`label ${key}: not a discovery label (known: ${KNOWN.map((k) => `${p}.${k}`).join(', ')})`);
  }
  const server = label('server') ?? '';
  if (!NAME.test(server)) problems.push(`label ${p}.server: expected 1-64 of A-Z a-z 0-9 _ . - (got ${JSON.stringify(server)})`);
  const port = Number(label('port') ?? 8080);
  if (!Number.isInteger(port) || port < 1 || port > 65535)
    problems.push(`label ${p}.port: expected a port number 1-65535 (got ${JSON.stringify(label('port'))})`);
  const weight = Number(label('weight') ?? 100);
  if (!Number.isFinite(weight) || weight < 0) problems.push(`label ${p}.weight: expected a number >= 0 (got ${JSON.stringify(label('weight'))})`);
  const transport = label('transport') ?? 'streamable-http';
  if (!(transport in DEFAULT_PATH)) problems.push(`label ${p}.transport: expected streamable-http, sse or websocket (got ${JSON.stringify(transport)})`);
  const path = label('path') ?? DEFAULT_PATH[transport] ?? '/mcp';
  if (!/^\/[\w\-./~%]*$/.test(path)) problems.push(`label ${p}.path: expected a URL path starting with / (got ${JSON.stringify(path)})`);
  const tls = label('tls');
  if (tls !== undefined && tls !== 'true' && tls !== 'false') problems.push(`label ${p}.tls: expected true or false (got ${JSON.stringify(tls)})`);
  if (problems.length > 0) return { problems };

  const scheme = (transport === 'websocket' ? 'ws' : 'http') + (tls === 'true' ? 's' : '');
  const prefix = label('prefix');
  const entry = {
    ...settings.defaults,
    url: `${scheme}://${host.includes(':') ? `[${host}]` : host}:${port}${path}`,
    transport,
    ...(prefix !== undefined ? { prefix: prefix === 'false' ? false : prefix } : {}),
    ...(label('mode') !== undefined ? { mode: label('mode') } : {}),
    ...(label('protocol') !== undefined ? { protocol: label('protocol') } : {}),
  };
  const config = parseServer(server, entry, [], problems);
  if (!config) return { problems: problems.map((m) => m.replace(/^(prefix|mode|protocol)\b/, `label ${p}.$1`)) };
  const transportFields = Object.fromEntries(Object.entries(entry).filter(([key]) => TRANSPORT_FIELDS.includes(key)));
  return { server, weight, config, transport: transportFields };
}
