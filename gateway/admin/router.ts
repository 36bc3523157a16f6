/**
 * The admin API's HTTP layer: who is asking (the admin token, or a principal of the gateway's
 * client authentication with admin roles), whether their role covers the route, throttling of
 * failed attempts per address, routing by path pattern and method, JSON bodies within the size
 * limit, and one error shape. Every 4xx/5xx body is `{ "error": "…" }` saying what is wrong and what
 * to do; a wrong method gets 405 with Allow.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { FleetError, toFleetError } from '../protocol/errors';
import { readBody, retryAfterHeader, sendJson } from '../http/http-util';
import type { Authenticator } from '../auth/authenticator';
import { FailureThrottle } from '../auth/failure-throttle';
import { principal, type Principal } from '../auth/principal';
import { checkBearer } from './auth';

export const ADMIN_PREFIX = '/admin';

/** The roles of the admin API; `admin` holds them all. */
export type AdminRole = 'admin:read' | 'admin:operate' | 'admin:register' | 'admin:keys' | 'admin:debug';

/** Whoever presents the admin token. */
const TOKEN_HOLDER = principal('admin-token', 'admin.token', [], ['admin']);

export interface AdminRequest {
  /** Who asked (for the audit line of a change). */
  principal: Principal;
  /** Path parameters by name (`:name` in the pattern), decoded. */
  params: Record<string, string>;
  query: URLSearchParams;
  /** The JSON body (400 when it is not JSON). */
  json: () => Promise<unknown>;
}

export interface AdminReply {
  status: number;
  body?: unknown;
  /** A download instead of a JSON body (a heap snapshot): streamed as it is made. */
  file?: { name: string; contentType: string; data: Readable };
}

export type AdminHandler = (req: AdminRequest) => Promise<AdminReply> | AdminReply;

export type AdminMethod = 'GET' | 'POST' | 'PUT' | 'DELETE';

/** Path pattern (`/admin/servers/:name`) → method → handler, and the role it needs. */
export type AdminRoutes = Record<string, Partial<Record<AdminMethod, { role: AdminRole; handle: AdminHandler }>>>;

export interface AdminOptions {
  /** Off: 404 on every path (the config has no `admin` section). */
  enabled: boolean;
  token: string | undefined;
  /** Principals with admin roles authenticate as they do on /mcp. */
  auth: Authenticator;
  maxBodyBytes: number;
}

export class AdminRouter {
  private readonly throttle = new FailureThrottle();

  constructor(
    private readonly routes: AdminRoutes,
    private readonly options: AdminOptions,
  ) {}

  /** Whether the config has an admin section (else every admin path is 404). */
  get enabled(): boolean {
    return this.options.enabled;
  }

  /** Answers one request under /admin; errors become `{ error }` with the error's HTTP status. */
  async handle(req: IncomingMessage, res: ServerResponse, url: URL): Promise<FleetError | undefined> {
    try {
      const reply = await this.dispatch(req, url);
      if (reply.file) {
        const { name, contentType, data } = reply.file;
        res.writeHead(reply.status, { 'content-type': contentType, 'content-disposition': `attachment; filename="${name}"` });
        // a client that goes away ends the stream (and so frees what made it)
        await pipeline(data, res).catch(() => data.destroy());
      } else if (reply.body === undefined) res.writeHead(reply.status).end();
      else sendJson(res, reply.status, reply.body);
      return undefined;
    } catch (err) {
      const error = toFleetError(err);
      if (!res.headersSent) {
        const headers: Record<string, string> = { 'content-type': 'application/json' };
        if (error.code === 'UNAUTHORIZED') headers['www-authenticate'] = 'Bearer';
        if (error.code === 'METHOD_NOT_ALLOWED') headers.allow = String(error.data?.allow);
        res.writeHead(error.httpStatus, { ...headers, ...retryAfterHeader(error) });
      }
      res.end(JSON.stringify({ error: error.message }));
      return error;
    }
  }

  private async dispatch(req: IncomingMessage, url: URL): Promise<AdminReply> {
    const { enabled, maxBodyBytes } = this.options;
    if (!enabled) throw new FleetError('NOT_FOUND', 'admin API disabled; add an admin section (token, or admin roles for principals) to the gateway config');
    const who = await this.authenticate(req);
    const segments = url.pathname.split('/').filter(Boolean);
    for (const [pattern, methods] of Object.entries(this.routes)) {
      const params = match(pattern, segments);
      if (!params) continue;
      // own properties only: an inherited name (`constructor`) is no handler
      const route = Object.hasOwn(methods, req.method ?? '') ? methods[req.method as AdminMethod] : undefined;
      if (!route) {
        const allow = Object.keys(methods).join(', ');
        throw new FleetError('METHOD_NOT_ALLOWED', `${req.method} is not allowed on ${url.pathname}; use ${allow}`, { data: { allow } });
      }
      checkRole(who, route.role, `${req.method} ${url.pathname}`);
      return route.handle({ principal: who, params, query: url.searchParams, json: () => readJson(req, maxBodyBytes) });
    }
    throw new FleetError('NOT_FOUND', `no admin route ${url.pathname}; the routes are ${Object.keys(this.routes).join(', ')}`);
  }

  /**
   * Who asks for `what` (a request outside the admin API, /metrics on the management listener),
   * authenticated and throttled as admin requests are; throws UNAUTHORIZED or FORBIDDEN when they
   * lack `role`.
   */
  async permit(req: IncomingMessage, role: AdminRole, what: string): Promise<Principal> {
    const who = await this.authenticate(req);
    checkRole(who, role, what);
    return who;
  }

  /**
   * The admin token, else a principal of client authentication; failures count against the
   * caller's address, which is refused for a while after too many.
   */
  private async authenticate(req: IncomingMessage): Promise<Principal> {
    const address = req.socket.remoteAddress ?? 'unknown';
    this.throttle.check(address);
    const { token, auth } = this.options;
    const presented = /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? '')?.[1]?.trim();
    if (token !== undefined && checkBearer(req.headers.authorization, token) === undefined) return TOKEN_HOLDER;
    if (auth.required && presented !== undefined) {
      try {
        return await auth.authenticate({ headers: req.headers });
      } catch (err) {
        this.throttle.failed(address);
        throw err;
      }
    }
    this.throttle.failed(address);
    throw new FleetError(
      'UNAUTHORIZED',
      presented
        ? 'the bearer token is wrong; send the admin.token of the gateway config, or a credential with an admin role'
        : 'send Authorization: Bearer <admin.token of the gateway config, or a credential with an admin role>',
    );
  }
}

function checkRole(who: Principal, role: AdminRole, what: string): void {
  if (who.roles.includes('admin') || who.roles.includes(role)) return;
  throw new FleetError('FORBIDDEN', `${what} needs the role ${role} (or admin); ${who.id} has ${who.roles.join(', ') || 'no roles'}`);
}

function match(pattern: string, segments: string[]): Record<string, string> | undefined {
  const parts = pattern.split('/').filter(Boolean);
  if (parts.length !== segments.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < parts.length; i++) {
    if (parts[i].startsWith(':')) params[parts[i].slice(1)] = decodeSegment(segments[i]);
    else if (parts[i] !== segments[i]) return undefined;
  }
  return params;
}

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new FleetError('INVALID_PARAMS', `the path segment "${segment}" is not valid percent-encoding`);
  }
}

async function readJson(req: IncomingMessage, limit: number): Promise<unknown> {
  const text = await readBody(req, limit);
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new FleetError('PARSE_ERROR', `the body is not valid JSON (${(err as Error).message}); send a JSON object`);
  }
}
