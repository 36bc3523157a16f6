/**
 * The gateway's configuration schema. One file holds the gateway's own `servers:` map and,
 * unchanged, the `mcpServers` object that Claude Desktop, Cursor and VS Code users already have.
 * Everything is validated here once; the rest of the gateway trusts these types.
 */
import { isIP } from 'node:net';
import { isAbsolute } from 'node:path';
import { validRange } from 'semver';
import { z } from 'zod';
import { authSchema, policySchema } from './auth-schema';
import { rateLimitsSchema } from './rate-limit-schema';
import { discoverySchema } from './discovery-schema';
import { tracingSchema } from './tracing-schema';
import { balancingSchema, breakerSchema, retrySchema, timeoutsSchema } from './resilience-schema';
import { DEFAULT_MAX_MESSAGE_BYTES } from '../protocol/frames';
import { DEFAULT_MAX_DEPTH } from '../protocol/json-limits';
import type { LiveStrings } from './secrets/live';

const positiveMs = z.number().int().positive();

export const restartSchema = z
  .object({
    initialDelayMs: positiveMs.default(500),
    maxDelayMs: positiveMs.default(30_000),
    factor: z.number().min(1).default(2),
  })
  .strict();

/** What `protocol` may say: probe, or one revision of either generation. */
export const upstreamProtocols = ['auto', '2025-11-25', '2026-07-28'] as const;
export type UpstreamProtocol = (typeof upstreamProtocols)[number];

/** How a server's upstream sessions are shared between clients. */
export const serverModes = ['shared', 'per-principal', 'per-session'] as const;
export type ServerMode = (typeof serverModes)[number];

/** Options every kind of server shares. */
const commonServerFields = {
  /** `false` exposes names as the server gives them; a string replaces the server name as prefix. */
  prefix: z.union([z.string().min(1), z.literal(false)]).optional(),
  /**
   * shared: one upstream session serves every client (so its state is every client's);
   * per-principal: one upstream session per principal (a tenant: every session and stateless
   * request of that principal shares it, no other principal reaches it);
   * per-session: one upstream session per client session.
   */
  mode: z.enum(serverModes).default('shared'),
  requestTimeoutMs: positiveMs.default(60_000),
  /**
   * per-session and per-principal servers: a session (tenant) whose backend lost its connection
   * and is not back this soon moves to another backend of the server (a new upstream session,
   * initialized again; the client hears list_changed). 0: it waits for its backend.
   */
  sessionFailoverMs: z.number().int().min(0).default(2_000),
  /**
   * A semver range the server's `serverInfo.version` must satisfy (">=1.4 <2"): a backend that
   * reports another version, or none, is refused with the reason (admin API, metrics, logs).
   */
  version: z
    .string()
    .refine((range) => validRange(range) !== null, 'expected a semver range such as ">=1.4.0 <2" or "^2.1"')
    .optional(),
  restart: restartSchema.default({ initialDelayMs: 500, maxDelayMs: 30_000, factor: 2 }),
  disabled: z.boolean().default(false),
  /**
   * The protocol generation the gateway speaks to the server. auto: probe with server/discover and
   * fall back to initialize (2025) when the server does not answer it as a 2026-07-28 server.
   */
  protocol: z.enum(upstreamProtocols).default('auto'),
  /** How long the auto probe waits for server/discover's answer before taking the server for a 2025 one. */
  probeTimeoutMs: positiveMs.default(5_000),
  /**
   * Checks each backend while connected: a ping (server/discover for a 2026-07-28 server) every
   * `intervalMs` (0: no pings; answers and timeouts of forwarded requests still count), answered
   * within `timeoutMs`. A check fails only when the server sent nothing at all meanwhile (a server
   * busy writing a long answer passes). One failure makes the backend degraded (it serves only
   * when no healthy backend can), `unhealthyThreshold` in a row make it down (no traffic; its
   * connection is given up and reconnected), `healthyThreshold` successes in a row make a
   * degraded backend healthy again.
   */
  healthCheck: z
    .object({
      intervalMs: z.number().int().min(0).default(15_000),
      timeoutMs: positiveMs.default(5_000),
      unhealthyThreshold: z.number().int().min(1).default(3),
      healthyThreshold: z.number().int().min(1).default(2),
    })
    .strict()
    .prefault({}),
  /**
   * Whether /health/readiness waits for this server: a required shared server must have a backend
   * connected and not down; one that is not required is reported but never makes readiness fail.
   * Per-session servers have no upstream before a client session opens one and are not waited for.
   */
  required: z.boolean().default(true),
  /**
   * What the gateway takes from this server: a longer line, SSE event or WebSocket message, or one
   * nested deeper, is refused (the request it answers fails naming the server; anything else is
   * dropped and logged). `maxSessions`: upstream sessions a per-session or per-principal server may
   * have at once (one per client session, or per principal). `maxConcurrent`: requests in flight
   * to the server at once, all its backends and tenants together (default: no limit); more wait
   * in a FIFO queue of at most `maxQueued` for at most `queueTimeoutMs`, and past either are
   * refused at once (LIMIT_REACHED naming the setting), so a flood costs memory of a fixed size.
   */
  limits: z
    .object({
      maxMessageBytes: z.number().int().positive().default(DEFAULT_MAX_MESSAGE_BYTES),
      maxDepth: z.number().int().min(2).default(DEFAULT_MAX_DEPTH),
      maxSessions: z.number().int().positive().default(64),
      maxConcurrent: z.number().int().positive().optional(),
      maxQueued: z.number().int().min(0).default(100),
      queueTimeoutMs: positiveMs.default(10_000),
    })
    .strict()
    .prefault({}),
  /** A circuit breaker per backend (resilience-schema.ts); none without this section. */
  breaker: breakerSchema.optional(),
  /** Retries of idempotent requests on another backend (resilience-schema.ts); none without this section. */
  retry: retrySchema.optional(),
  /** Per-tool and default timeouts of forwarded requests (resilience-schema.ts). */
  timeouts: timeoutsSchema.prefault({}),
  /** How requests are spread over a shared server's backends (resilience-schema.ts). */
  balancing: balancingSchema.prefault({}),
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

const filePath = z.string().min(1, 'expected a file path');

/**
 * TLS towards a remote server (https: or wss:): the CA bundle that verifies it (default: node's
 * public roots), a client certificate when the server asks for one, and the name its certificate
 * must carry when that is not the URL's host. The files are read at every connection attempt, so
 * a rotated certificate takes effect at the next reconnect.
 */
export const upstreamTlsSchema = z
  .object({
    caFile: filePath.optional(),
    certFile: filePath.optional(),
    keyFile: filePath.optional(),
    serverName: z.string().min(1).optional(),
  })
  .strict()
  .superRefine((tls, ctx) => {
    if ((tls.certFile === undefined) !== (tls.keyFile === undefined)) {
      const missing = tls.certFile === undefined ? 'certFile' : 'keyFile';
      ctx.addIssue({ code: 'custom', path: [missing], message: `a client certificate needs both certFile and keyFile (${missing} is missing)` });
    }
  });

export type UpstreamTls = z.infer<typeof upstreamTlsSchema>;

/** RFC 8693 §3 token type identifiers a client's token can be exchanged as. */
export const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';
export const JWT_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:jwt';

/**
 * A pool of upstream sessions for a shared 2025 server over Streamable HTTP: a forwarded request
 * takes the least busy session with room (`maxConcurrent` requests each), a new one is opened while
 * fewer than `max` exist, and past that it waits in a bounded queue. Sessions beyond `min` close
 * when idle for `idleTimeoutMs`; each is replaced after `maxLifetimeMs`; one idle for longer than
 * `validateIdleMs` is pinged before it is handed out, and every `validateIntervalMs` the idle ones
 * are pinged and those that do not answer replaced (up to `min`). Only what the gateway shares between all
 * clients ever goes to a pooled session (README: "Upstream session pools").
 */
export const sessionPoolSchema = z
  .object({
    min: z.number().int().min(1).default(1),
    max: z.number().int().min(1).default(1),
    maxConcurrent: z.number().int().positive().default(16),
    idleTimeoutMs: positiveMs.default(60_000),
    maxLifetimeMs: positiveMs.default(60 * 60_000),
    validateIdleMs: positiveMs.default(30_000),
    validateIntervalMs: positiveMs.default(30_000),
    acquireTimeoutMs: positiveMs.default(5_000),
    maxWaiters: z.number().int().min(0).default(1_000),
  })
  .strict()
  .refine((p) => p.min <= p.max, { path: ['min'], message: 'min must not be larger than max' });

export type SessionPoolSettings = z.infer<typeof sessionPoolSchema>;

export const remoteServerSchema = z
  .object({
    ...commonServerFields,
    // a remote server speaks HTTP or WebSocket; file:, data: and the like would read the gateway's own machine
    url: z.url({ protocol: /^(https?|wss?)$/, error: 'expected an http(s):// or ws(s):// URL' }),
    transport: z.enum(remoteTransports).optional(),
    headers: stringMap.default({}),
    tls: upstreamTlsSchema.optional(),
    pool: sessionPoolSchema.optional(),
    /**
     * A replica set by DNS: every address the URL's host name resolves to (Docker's DNS gives one
     * per replica of a scaled service) is a backend of its own, connected to that address under the
     * name (Host header, TLS server name), re-resolved every `intervalMs` and at once when one is down.
     */
    dns: z
      .object({ intervalMs: positiveMs.default(10_000) })
      .strict()
      .optional(),
    /**
     * The gateway as an OAuth client of this server, its token sent as Authorization (never the
     * client's). `grant: client-credentials` (default): one token of the gateway's own for the
     * server, kept until shortly before it expires. `grant: token-exchange` (RFC 8693): for each
     * client, the access token it authenticated with (the latest it presented) is exchanged for a
     * token for this server that names the same user, cached until shortly before it expires. The
     * token endpoint is `tokenUrl`, or what the `issuer`'s metadata names.
     */
    oauth: z
      .object({
        grant: z.enum(['client-credentials', 'token-exchange']).default('client-credentials'),
        issuer: z.url().optional(),
        tokenUrl: z.url().optional(),
        clientId: z.string().min(1),
        clientSecret: z.string().min(1),
        scope: z.string().min(1).optional(),
        /** The RFC 8707 resource the token is for; default the server's url. */
        resource: z.url().optional(),
        /** token-exchange: the RFC 8693 `audience` to ask for as well (a logical name the authorization server knows the server by). */
        audience: z.string().min(1).optional(),
        /** token-exchange: what the client's token is, as RFC 8693 names it (access_token, or jwt for a JWT that is not an OAuth access token). */
        subjectTokenType: z.enum([ACCESS_TOKEN_TYPE, JWT_TOKEN_TYPE]).default(ACCESS_TOKEN_TYPE),
      })
      .strict()
      .refine((o) => o.issuer !== undefined || o.tokenUrl !== undefined, 'name the issuer (its metadata gives the token endpoint) or the tokenUrl')
      .refine((o) => o.grant === 'token-exchange' || o.audience === undefined, { path: ['audience'], message: 'audience is for grant: token-exchange only' })
      .optional(),
  })
  .strict()
  .superRefine((server, ctx) => {
    if (server.tls && !/^(https|wss):/i.test(server.url)) {
      ctx.addIssue({ code: 'custom', path: ['tls'], message: `tls needs an https: or wss: url (got ${server.url.split(':')[0]}:)` });
    }
    // a pool multiplies one shared session; a session bound to one client has nothing to pool
    const streamable =
      server.transport === undefined ? /^https?:/i.test(server.url) && !/\/sse\/?$/.test(new URL(server.url).pathname) : server.transport === 'streamable-http';
    if (server.pool && (server.mode !== 'shared' || !streamable)) {
      ctx.addIssue({ code: 'custom', path: ['pool'], message: 'a session pool is for shared servers over Streamable HTTP (mode: shared, an http(s) url)' });
    }
    if (server.dns && (server.transport === 'sse' || (server.transport === undefined && /^https?:/i.test(server.url) && !streamable))) {
      ctx.addIssue({
        code: 'custom',
        path: ['dns'],
        message: 'a DNS replica set is for Streamable HTTP and WebSocket servers (legacy SSE follows its own endpoint URL)',
      });
    }
    if (server.dns && isIP(new URL(server.url).hostname.replace(/^\[|\]$/g, '')) !== 0) {
      ctx.addIssue({ code: 'custom', path: ['dns'], message: `dns needs a host name to resolve (got the address ${new URL(server.url).hostname})` });
    }
    // an exchanged token names one user: the upstream it goes to must serve that user only
    if (server.oauth?.grant === 'token-exchange' && server.mode === 'shared') {
      ctx.addIssue({
        code: 'custom',
        path: ['oauth', 'grant'],
        message:
          "token-exchange acts for each client's own user, so the server needs an upstream per user: set mode: per-principal or per-session (a shared upstream serves every client)",
      });
    }
  });

/** Bytes, or a size with a unit (k, m, g) as Docker takes it: "256m". */
const byteSize = z.union([z.number().int().positive(), z.string().regex(/^\d+(\.\d+)?[kmg]?b?$/i, 'expected bytes or a size like "256m" or "1g"')]);

/** A stdio MCP server in a container, hardened by default; every default can be overridden. */
export const dockerSettingsSchema = z
  .object({
    image: z.string().min(1),
    /** Arguments for the image's entrypoint (Docker's CMD). */
    command: z.array(z.string()).optional(),
    entrypoint: z.array(z.string()).optional(),
    env: stringMap.default({}),
    workdir: z.string().optional(),
    /** "none" (default) keeps the server off every network; name a network to give it one. */
    network: z.string().min(1).default('none'),
    /** Docker volume or bind specs: "name:/data", "/host/dir:/data:ro". */
    volumes: z.array(z.string()).default([]),
    /** The image's own user unless that is root, then nobody (65534). */
    user: z.string().optional(),
    readOnly: z.boolean().default(true),
    tmpfs: z.record(z.string(), z.string()).default({ '/tmp': 'rw,noexec,nosuid,size=64m' }),
    memory: byteSize.default('256m'),
    cpus: z.number().positive().default(1),
    pids: z.number().int().positive().default(256),
    capDrop: z.array(z.string()).default(['ALL']),
    capAdd: z.array(z.string()).default([]),
    noNewPrivileges: z.boolean().default(true),
    /** Runs an init process as PID 1 that reaps zombies and forwards signals. */
    init: z.boolean().default(true),
    /** Seconds `docker stop` waits before SIGKILL. */
    stopTimeoutSec: z.number().int().min(0).default(2),
    labels: stringMap.default({}),
  })
  .strict();

export const dockerServerSchema = z
  .object({
    ...commonServerFields,
    docker: dockerSettingsSchema,
    /** per-session and per-principal modes: containers kept started ahead of sessions, and the most that may exist at once. */
    pool: z
      .object({ warm: z.number().int().min(0).default(1), max: z.number().int().min(1).default(16), acquireTimeoutMs: positiveMs.default(30_000) })
      .strict()
      .refine((p) => p.warm <= p.max, 'pool.warm cannot exceed pool.max')
      .prefault({}),
  })
  .strict();

export type DockerSettings = z.infer<typeof dockerSettingsSchema>;
/**
 * `liveEnv` (on docker and stdio servers) and `liveHeaders` (on remote ones) are set by the config
 * loader when those maps hold secret references: the current values after rotations, which the
 * transports read instead of the values loaded at start.
 */
export type DockerServerConfig = z.infer<typeof dockerServerSchema> & { kind: 'docker'; name: string; liveEnv?: LiveStrings };

export type StdioServerConfig = z.infer<typeof stdioServerSchema> & { kind: 'stdio'; name: string; liveEnv?: LiveStrings };
export type RemoteServerConfig = Omit<z.infer<typeof remoteServerSchema>, 'transport'> & {
  /** Set on the backends of a DNS replica set: the one address this backend connects to. */
  address?: string;
  kind: 'remote';
  name: string;
  transport: (typeof remoteTransports)[number];
  liveHeaders?: LiveStrings;
};
export type ServerConfig = StdioServerConfig | RemoteServerConfig | DockerServerConfig;

/** How the gateway reaches a server: a child process, a container, or one of the remote transports. */
export type TransportKind = 'stdio' | 'docker' | (typeof remoteTransports)[number];

export function transportKind(server: ServerConfig): TransportKind {
  return server.kind === 'remote' ? server.transport : server.kind;
}

/**
 * What the admin API may register: a stdio server's command (its path; its arguments are free, so
 * list only commands that run one server), a container image, a remote URL, and the host paths a
 * server may name (`cwd`, a remote server's `tls` files, a container's bind-mounted directories):
 * each must be under one of `paths` once resolved (absolute, no `..`, symlinks followed).
 * Nothing by default.
 */
const registerAllowlistSchema = z
  .object({
    commands: z.array(z.string().min(1)).default([]),
    images: z.array(z.string().min(1)).default([]),
    /** `scheme://host:port/path`: `*` in the host matches within the host name, a trailing `*` in the path any rest; port `*` any port. */
    urls: z
      .array(z.string().regex(/^(https?|wss?):\/\/[^/:\s]+(:(\d{1,5}|\*))?(\/\S*)?$/, 'expected scheme://host[:port][/path], e.g. http://*.internal:8080/mcp'))
      .default([]),
    paths: z.array(z.string().refine((p) => isAbsolute(p), 'expected an absolute path prefix, e.g. /srv/mcp')).default([]),
  })
  .strict();

export type RegisterAllowlist = z.infer<typeof registerAllowlistSchema>;

/**
 * HTTPS and WSS on the gateway's listener. With `clientCaFile` the listener asks clients for a
 * certificate signed by that CA: `required` (the default then) refuses a handshake without one,
 * `optional` lets it through unauthenticated. The files are watched and reloaded on change.
 */
export const listenerTlsSchema = z
  .object({
    certFile: filePath,
    keyFile: filePath,
    clientCaFile: filePath.optional(),
    clientCert: z.enum(['none', 'optional', 'required']).optional(),
  })
  .strict()
  .superRefine((tls, ctx) => {
    if (tls.clientCert !== undefined && tls.clientCert !== 'none' && tls.clientCaFile === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['clientCaFile'],
        message: `clientCert: ${tls.clientCert} needs clientCaFile, the CA that signs client certificates`,
      });
    }
    if (tls.clientCert === 'none' && tls.clientCaFile !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['clientCert'],
        message: 'clientCert: none asks for no client certificate, so clientCaFile would go unused; leave one of them out',
      });
    }
  })
  .transform((tls) => ({ ...tls, clientCert: tls.clientCert ?? (tls.clientCaFile === undefined ? 'none' : 'required') }));

export type ListenerTls = z.output<typeof listenerTlsSchema>;

/**
 * HashiCorp Vault (or OpenBao) for `${secret:vault:MOUNT/PATH#FIELD}` references. Its credential
 * comes from a reference itself (`${secret:file:...}` or `${secret:env:...}`), not in clear.
 */
export const vaultSettingsSchema = z
  .object({
    address: z.url(),
    /** Vault Enterprise / HCP namespace (X-Vault-Namespace). */
    namespace: z.string().min(1).optional(),
    /** PEM CA bundle for an https address signed by a private CA. */
    caFile: z.string().min(1).optional(),
    timeoutMs: positiveMs.default(10_000),
    /** How often Vault secrets are read again to pick up a rotation. */
    refreshIntervalMs: positiveMs.default(60_000),
    auth: z.union([
      z.object({ token: z.string().min(1), allowInlineCredential: z.boolean().default(false) }).strict(),
      z
        .object({
          approle: z.object({ roleId: z.string().min(1), secretId: z.string().min(1), mount: z.string().min(1).default('approle') }).strict(),
          allowInlineCredential: z.boolean().default(false),
        })
        .strict(),
    ]),
  })
  .strict();

export type VaultSettings = z.infer<typeof vaultSettingsSchema>;

export const listenSchema = z.string().regex(/^(\[[0-9a-fA-F:]+\]|[^:\s]+):\d{1,5}$/, 'expected HOST:PORT, e.g. 127.0.0.1:8080');

/**
 * The management listener: the admin API, /metrics and the health probes on an address of their
 * own, so that the public listener (`listen`) serves the MCP fronts and the health probes only
 * (/admin and /metrics answer 404 there). `tls` as for the public listener; with `clientCert:
 * required` only holders of a certificate of `clientCaFile` get through the handshake (mTLS). Like
 * the public listener, one that other machines can reach refuses to start without a door (the
 * admin token, or mTLS) unless `auth: none` is written out.
 */
export const managementSchema = z
  .object({
    listen: listenSchema,
    tls: listenerTlsSchema.optional(),
    auth: z.literal('none').optional(),
  })
  .strict();

export type ManagementSettings = z.output<typeof managementSchema>;

export const gatewaySettingsSchema = z
  .object({
    /** Names this gateway on the containers it starts, so a restart can remove the ones a crash left behind. */
    instance: z
      .string()
      .regex(/^[A-Za-z0-9_.-]{1,64}$/, 'use 1-64 of A-Z a-z 0-9 _ . -')
      .default('default'),
    /** Docker Engine socket for docker servers (DOCKER_HOST style unix path). */
    dockerSocket: z.string().default('/var/run/docker.sock'),
    listen: listenSchema.default('127.0.0.1:8080'),
    /**
     * Who may connect. A listener that is not loopback-only refuses to start without it; `none`
     * written out lets anyone in (with a warning).
     */
    auth: authSchema.optional(),
    /** What each principal may use: tools, prompts and resources by server and name. */
    policy: policySchema.prefault({}),
    /** How often: token buckets per principal, server or tool (rate-limit-schema.ts). */
    rateLimits: rateLimitsSchema.prefault({}),
    tls: listenerTlsSchema.optional(),
    /** The admin API and /metrics on a listener of their own (default: on `listen`, as everything else). */
    management: managementSchema.optional(),
    /** Joins a server prefix and a tool or prompt name. */
    nameSeparator: z
      .string()
      .regex(/^[A-Za-z0-9_.-]{1,8}$/, 'use 1-8 of A-Z a-z 0-9 _ . -')
      .default('__'),
    /** Largest list page the gateway returns; larger merged lists get gateway cursors. */
    pageSize: z.number().int().min(1).max(10_000).default(500),
    http: z
      .object({
        maxBodyBytes: z
          .number()
          .int()
          .positive()
          .default(4 * 1024 * 1024),
        /** Streamable HTTP sessions with no open request and no traffic for this long are closed. */
        sessionIdleTimeoutMs: positiveMs.default(30 * 60_000),
        /** Origins allowed besides loopback ones; "*" turns Origin checking off. */
        allowedOrigins: z.array(z.string()).default([]),
        /** Host header values allowed besides loopback ones when listening on loopback; "*" turns Host checking off. */
        allowedHosts: z.array(z.string()).default([]),
      })
      .strict()
      .prefault({}),
    /**
     * Bounds on what clients can make the gateway hold or do, each refused with a clear error:
     * JSON nested deeper or strings longer than allowed (-32600, HTTP 400), sessions and
     * connections beyond the caps (HTTP 429 / -32600), requests in flight per session beyond the
     * cap, and clients that do not read: past `sendQueueBytes` queued towards one client it is
     * dropped (WebSocket close 1008, the SSE stream ended).
     */
    limits: z
      .object({
        maxJsonDepth: z.number().int().min(2).default(DEFAULT_MAX_DEPTH),
        maxStringChars: z
          .number()
          .int()
          .positive()
          .default(16 * 1024 * 1024),
        /** Client sessions open at once, every front together (2026-07-28 requests open none). */
        maxSessions: z.number().int().positive().default(10_000),
        /** Client sessions one authenticated principal may have open at once (without auth only maxSessions applies). */
        maxSessionsPerPrincipal: z.number().int().positive().default(1_000),
        /** Open connections per front: WebSockets on /ws, event streams on /sse, requests open on /mcp. */
        maxConnectionsPerFront: z.number().int().positive().default(10_000),
        /** per-principal servers: a principal's upstreams stop this long after its last session ended and its last request was answered. */
        principalIdleTimeoutMs: positiveMs.default(5 * 60_000),
        /** Requests one client session may have in flight at once. */
        maxPendingPerSession: z.number().int().positive().default(1000),
        /** Bytes written towards one client and not yet taken by it (a WebSocket, an SSE stream). */
        sendQueueBytes: z
          .number()
          .int()
          .positive()
          .default(16 * 1024 * 1024),
        /** node:http: the request's headers must be in by then (slow-loris headers get 408). */
        headersTimeoutMs: positiveMs.default(20_000),
        /** node:http: the whole request, body included, must be in by then (a trickled or short body gets 408). */
        requestTimeoutMs: positiveMs.default(60_000),
        /** WebSocket ping interval; a client that has not answered the previous ping by the next is dropped. */
        wsPingIntervalMs: positiveMs.default(30_000),
      })
      .strict()
      .prefault({}),
    shutdown: z
      .object({ drainTimeoutMs: positiveMs.default(10_000) })
      .strict()
      .prefault({}),
    /**
     * Hot reload of this file: `watch` reloads it when it changes on disk (debounced by
     * `debounceMs`); SIGHUP and POST /admin/reload reload it either way.
     */
    reload: z
      .object({ watch: z.boolean().default(true), debounceMs: z.number().int().min(0).max(10_000).default(100) })
      .strict()
      .prefault({}),
    /** How long startup waits for servers to connect before serving clients anyway. */
    startup: z
      .object({ waitForServersMs: z.number().int().min(0).default(15_000) })
      .strict()
      .prefault({}),
    /**
     * Clients of MCP 2026-07-28 (stateless). `stateKeys` seal the requestState of multi-round-trip
     * requests (the first seals, all open: rotate by putting the new one first); every gateway
     * instance behind one load balancer needs the same keys. Without keys a random key per process
     * is used, so a retry must come back to the same instance.
     */
    stateless: z
      .object({
        stateKeys: z
          .array(
            z
              .object({
                id: z.string().regex(/^[A-Za-z0-9_.-]{1,32}$/, 'use 1-32 of A-Z a-z 0-9 _ . -'),
                secret: z.string().min(32, 'use at least 32 characters of secret'),
              })
              .strict(),
          )
          .default([]),
        /** How long a client may take to answer a multi-round-trip request before its state expires. */
        requestStateTtlMs: positiveMs.default(10 * 60_000),
        /** Calls held open for a modern client's answer (they hold an upstream request each). */
        maxHeldCalls: z.number().int().min(0).default(1000),
        /** subscriptions/listen streams open at once. */
        maxListenStreams: z.number().int().min(0).default(1000),
        /** The caching hint on lists and reads: how long a client may reuse them, and whether shared caches may. */
        cache: z
          .object({ ttlMs: z.number().int().min(0).default(0), scope: z.enum(['private', 'public']).default('private') })
          .strict()
          .prefault({}),
      })
      .strict()
      .prefault({}),
    /**
     * Tasks (MCP 2025-11-25) the gateway routes for its clients: one entry per task an upstream
     * created, kept until its result was fetched, its ttl passed (the server's, at most `maxTtlMs`)
     * or its client left. When `maxTasks` are held, a task-augmented call is refused.
     */
    tasks: z
      .object({
        maxTasks: z.number().int().min(0).default(10_000),
        maxTtlMs: positiveMs.default(24 * 60 * 60_000),
      })
      .strict()
      .prefault({}),
    /**
     * The admin API (/admin/*): off without this section. It answers the bearer `token` (every
     * role), and principals of `auth` by their roles: `admin` (everything), `admin:read` (servers,
     * stats, pools, keys), `admin:operate` (weights, backends), `admin:register` (servers),
     * `admin:keys` (API keys). What may be registered at run time is limited to `register`.
     */
    admin: z
      .object({
        token: z
          .string()
          .min(32, 'the admin token must have at least 32 characters (`openssl rand -hex 32`): it can register servers')
          .refine((t) => new Set(t).size >= 8, 'the admin token is too guessable (fewer than 8 different characters); use `openssl rand -hex 32`')
          .optional(),
        register: registerAllowlistSchema.prefault({}),
        /** The pipeline's Temporal UI: the status page (/admin/status) links to its runs. */
        temporalUi: z.url({ protocol: /^https?$/, error: 'expected the http(s):// URL of the Temporal UI' }).optional(),
      })
      .strict()
      .optional(),
    vault: vaultSettingsSchema.optional(),
    /** Servers the gateway finds by itself (discovery-schema.ts): Docker containers by their labels. */
    discovery: discoverySchema.optional(),
    /**
     * What gateway replicas behind one load balancer share: 2025 sessions (so that a session
     * survives the loss of the replica that opened it, resumed on another). Without it a session
     * lives in its replica only. `url`: redis:// or rediss:// (a password in it from a secret).
     */
    store: z
      .object({
        redis: z
          .object({
            url: z.string().regex(/^rediss?:\/\/\S+$/, 'expected redis://HOST:PORT or rediss://… (TLS)'),
            /** Every key the gateway writes starts with it: several fleets can share one Redis. */
            keyPrefix: z.string().default('mcp-fleet:'),
            /** A store operation not answered this soon fails (a resume then answers 503, a write is logged). */
            timeoutMs: positiveMs.default(2_000),
          })
          .strict(),
      })
      .strict()
      .optional(),
    log: z
      .object({
        level: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),
        /** One `call` line (trace id, server, backend, outcome, ms) per forwarded request, at info. */
        calls: z.boolean().default(true),
      })
      .strict()
      .prefault({}),
    /** OpenTelemetry spans of each forwarded call over OTLP (tracing-schema.ts); off by default. */
    tracing: tracingSchema.prefault({}),
  })
  .strict()
  .superRefine((settings, ctx) => {
    const listen = settings.management?.listen;
    // port 0 (any free port) never collides
    if (listen !== undefined && listen === settings.listen && !listen.endsWith(':0')) {
      ctx.addIssue({
        code: 'custom',
        path: ['management', 'listen'],
        message: `is the same address as listen (${listen}); give the management listener its own port`,
      });
    }
  });

export type GatewaySettings = z.infer<typeof gatewaySettingsSchema>;
export type StoreSettings = NonNullable<GatewaySettings['store']>;

export interface GatewayConfig extends GatewaySettings {
  /** In file order: gateway `servers:` first, then `mcpServers`. Disabled servers are left out. */
  servers: ServerConfig[];
}
