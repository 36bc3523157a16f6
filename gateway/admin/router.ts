/**
 * The admin API's HTTP layer: bearer auth, routing by path pattern and method, JSON bodies within
 * the size limit, and one error shape. Every 4xx/5xx body is `{ "error": "…" }` saying what is wrong
 * and what to do; a wrong method gets 405 with Allow.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { FleetError, toFleetError } from '../protocol/errors';
import { readBody, sendJson } from '../http/http-util';
import { checkBearer } from './auth';

export const ADMIN_PREFIX = '/admin';

export interface AdminRequest {
  /** Path parameters by name (`:name` in the pattern), decoded. */
  params: Record<string, string>;
  query: URLSearchParams;
  /** The JSON body (400 when it is not JSON). */
  json: () => Promise<unknown>;
}

export interface AdminReply {
  status: number;
  body?: unknown;
}

export type AdminHandler = (req: AdminRequest) => Promise<AdminReply> | AdminReply;

/** Path pattern (`/admin/servers/:name`) → method → handler. */
export type AdminRoutes = Record<string, Partial<Record<'GET' | 'POST' | 'PUT' | 'DELETE', AdminHandler>>>;

export interface AdminOptions {
  /** Without a token the API is off (404 on every path). */
  token: string | undefined;
  maxBodyBytes: number;
}

export class AdminRouter {
  constructor(
    private readonly routes: AdminRoutes,
    private readonly options: AdminOptions,
  ) {}

  /** Answers one request under /admin; errors become `{ error }` with the error's HTTP status. */
  async handle(req: IncomingMessage, res: ServerResponse, url: URL): Promise<FleetError | undefined> {
    try {
      const reply = await this.dispatch(req, url);
      if (reply.body === undefined) res.writeHead(reply.status).end();
      else sendJson(res, reply.status, reply.body);
      return undefined;
    } catch (err) {
      const error = toFleetError(err);
      if (!res.headersSent) {
        const headers: Record<string, string> = { 'content-type': 'application/json' };
        if (error.code === 'UNAUTHORIZED') headers['www-authenticate'] = 'Bearer';
        if (error.code === 'METHOD_NOT_ALLOWED') headers.allow = String(error.data?.allow);
        res.writeHead(error.httpStatus, headers);
      }
      res.end(JSON.stringify({ error: error.message }));
      return error;
    }
  }

  private async dispatch(req: IncomingMessage, url: URL): Promise<AdminReply> {
    const { token, maxBodyBytes } = this.options;
    if (token === undefined) throw new FleetError('NOT_FOUND', 'admin API disabled; set admin.token in the gateway config');
    const denied = checkBearer(req.headers.authorization, token);
    if (denied) throw denied;
    const segments = url.pathname.split('/').filter(Boolean);
    for (const [pattern, methods] of Object.entries(this.routes)) {
      const params = match(pattern, segments);
      if (!params) continue;
      // own properties only: an inherited name (`constructor`) is no handler
      const handler = Object.hasOwn(methods, req.method ?? '') ? methods[req.method as keyof typeof methods] : undefined;
      if (!handler) {
        const allow = Object.keys(methods).join(', ');
        throw new FleetError('METHOD_NOT_ALLOWED', `${req.method} is not allowed on ${url.pathname}; use ${allow}`, { data: { allow } });
      }
      return handler({ params, query: url.searchParams, json: () => readJson(req, maxBodyBytes) });
    }
    throw new FleetError('NOT_FOUND', `no admin route ${url.pathname}; the routes are ${Object.keys(this.routes).join(', ')}`);
  }
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
