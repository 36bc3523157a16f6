/**
 * The gateway's configuration schema. One file holds the gateway's own `servers:` map and,
 * unchanged, the `mcpServers` object that Claude Desktop, Cursor and VS Code users already have.
 * Everything is validated here once; the rest of the gateway trusts these types.
 */
import { z } from 'zod';

const positiveMs = z.number().int().positive();

export const restartSchema = z
  .object({
    initialDelayMs: positiveMs.default(500),
    maxDelayMs: positiveMs.default(30_000),
    factor: z.number().min(1).default(2),
  })
  .strict();

/** Options every kind of server shares. */
const commonServerFields = {
  /** `false` exposes names as the server gives them; a string replaces the server name as prefix. */
  prefix: z.union([z.string().min(1), z.literal(false)]).optional(),
  /** shared: one upstream session serves every client; per-session: one upstream session per client session. */
  mode: z.enum(['shared', 'per-session']).default('shared'),
  requestTimeoutMs: positiveMs.default(60_000),
  restart: restartSchema.default({ initialDelayMs: 500, maxDelayMs: 30_000, factor: 2 }),
  disabled: z.boolean().default(false),
  /** Pings the server while connected; a failed ping counts as a lost connection (how dead remote servers are noticed). */
  healthCheck: z
    .object({ intervalMs: z.number().int().min(0).default(15_000), timeoutMs: positiveMs.default(5_000) })
    .strict()
    .prefault({}),
};

const stringMap = z.record(z.string(), z.string());

export const stdioServerSchema = z
  .object({
    ...commonServerFields,
    type: z.literal('stdio').optional(),
    command: z.string().min(1),
    args: z.array(z.string()).default([]),
    env: stringMap.default({}),
    cwd: z.string().min(1).optional(),
  })
  .strict();

export const remoteTransports = ['streamable-http', 'sse', 'websocket'] as const;

export const remoteServerSchema = z
  .object({
    ...commonServerFields,
    url: z.url(),
    transport: z.enum(remoteTransports).optional(),
    headers: stringMap.default({}),
  })
  .strict();

export type StdioServerConfig = z.infer<typeof stdioServerSchema> & { kind: 'stdio'; name: string };
export type RemoteServerConfig = Omit<z.infer<typeof remoteServerSchema>, 'transport'> & {
  kind: 'remote';
  name: string;
  transport: (typeof remoteTransports)[number];
};
export type ServerConfig = StdioServerConfig | RemoteServerConfig;

export const listenSchema = z
  .string()
  .regex(/^(\[[0-9a-fA-F:]+\]|[^:\s]+):\d{1,5}$/, 'expected HOST:PORT, e.g. 127.0.0.1:8080');

export const gatewaySettingsSchema = z
  .object({
    listen: listenSchema.default('127.0.0.1:8080'),
    /** Joins a server prefix and a tool or prompt name. */
    nameSeparator: z.string().regex(/^[A-Za-z0-9_.-]{1,8}$/, 'use 1-8 of A-Z a-z 0-9 _ . -').default('__'),
    /** Largest list page the gateway returns; larger merged lists get gateway cursors. */
    pageSize: z.number().int().min(1).max(10_000).default(500),
    http: z
      .object({
        maxBodyBytes: z.number().int().positive().default(4 * 1024 * 1024),
        /** Streamable HTTP sessions with no open request and no traffic for this long are closed. */
        sessionIdleTimeoutMs: positiveMs.default(30 * 60_000),
        /** Origins allowed besides loopback ones; "*" turns Origin checking off. */
        allowedOrigins: z.array(z.string()).default([]),
        /** Host header values allowed besides loopback ones when listening on loopback; "*" turns Host checking off. */
        allowedHosts: z.array(z.string()).default([]),
      })
      .strict()
      .prefault({}),
    shutdown: z.object({ drainTimeoutMs: positiveMs.default(10_000) }).strict().prefault({}),
    /** How long startup waits for servers to connect before serving clients anyway. */
    startup: z.object({ waitForServersMs: z.number().int().min(0).default(15_000) }).strict().prefault({}),
    log: z.object({ level: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info') }).strict().prefault({}),
  })
  .strict();

export type GatewaySettings = z.infer<typeof gatewaySettingsSchema>;

export interface GatewayConfig extends GatewaySettings {
  /** In file order: gateway `servers:` first, then `mcpServers`. Disabled servers are left out. */
  servers: ServerConfig[];
}
