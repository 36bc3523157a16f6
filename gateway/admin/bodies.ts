/**
 * The admin API's request bodies and query, validated once at the edge with the config file's own
 * schemas: a runtime server is exactly a `servers:` entry, a backend is that entry's transport
 * fields. Problems name the field (`command: Invalid input…`). No `${VAR}` expansion here: an admin
 * call must not read the gateway's environment.
 */
import { z } from 'zod';
import type { ServerConfig } from '../config/schema';
import { parseServer, zodProblems } from '../config/load';
import { FleetError } from '../protocol/errors';
import type { BackendSpec } from '../servers/plan';
import { TRANSPORT_FIELDS, runtimeBackend } from '../servers/runtime-backends';
import { MAX_WINDOW_SEC } from '../metrics/call-stats';

const idSchema = z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'use 1-64 of A-Z a-z 0-9 _ . -');
const weightSchema = z.number().min(0);
const weightsSchema = z.record(z.string(), weightSchema).refine((w) => Object.keys(w).length > 0, 'name at least one backend, as { "<backendId>": weight }');
const windowSchema = z.coerce.number().int().min(1).max(MAX_WINDOW_SEC).default(60);
/** A CPU profile longer than a minute is a load of its own; shorter than a second says little. */
const secondsSchema = z.coerce.number().int().min(1).max(60).default(10);

/** POST /admin/servers: `{ name, ...one servers entry }`. */
export function parseServerBody(body: unknown): ServerConfig {
  const { name, ...entry } = asObject(body, '"name" and the fields of one entry of the config file\'s servers map');
  const problems = check(idSchema, name, 'name');
  const server = parseServer(String(name), entry, [], problems);
  if (server?.disabled) problems.push('disabled: a server registered at runtime cannot be disabled; leave the field out');
  if (problems.length > 0 || !server) throw invalid(problems);
  return server;
}

/**
 * POST /admin/servers/:name/backends: `{ id, weight?, ...transport fields }`, with the rest inherited
 * from `server`. The spec can remake its config under a changed server (a config reload).
 */
export function parseBackendBody(body: unknown, server: ServerConfig): BackendSpec {
  const { id, weight = 0, ...transport } = asObject(body, '"id", an optional "weight" and transport fields (command/args/env/cwd, url/headers, or docker)');
  const problems = [...check(idSchema, id, 'id'), ...check(weightSchema, weight, 'weight')];
  for (const key of Object.keys(transport)) {
    if (!TRANSPORT_FIELDS.includes(key))
      problems.push(`${key}: not a backend field; a backend takes id, weight and ${TRANSPORT_FIELDS.join(', ')} (the rest comes from its server)`);
  }
  if (problems.length > 0) throw invalid(problems);
  return runtimeBackend({ id: id as string, weight: weight as number, transport, origin: { by: 'admin API' } }, server);
}

/** PUT /admin/servers/:name/weights: `{ "<backendId>": weight >= 0, ... }`. */
export function parseWeightsBody(body: unknown): Record<string, number> {
  const r = weightsSchema.safeParse(asObject(body, '{ "<backendId>": weight, ... }'));
  if (!r.success) throw invalid(zodProblems(r.error, []));
  return r.data;
}

const newKeySchema = z
  .object({
    name: z.string().regex(/^[A-Za-z0-9_.@:-]{1,128}$/, 'use 1-128 of A-Z a-z 0-9 _ . @ : -'),
    scopes: z.array(z.string().min(1)).default([]),
    roles: z.array(z.string().min(1)).default([]),
    expiresAt: z.iso.datetime({ offset: true }).optional(),
  })
  .strict();
const rotateSchema = z
  .object({
    overlapSec: z
      .number()
      .int()
      .min(0)
      .max(30 * 24 * 3600)
      .default(3600),
  })
  .strict();

/** POST /admin/api-keys: `{ name, scopes?, roles?, expiresAt? }`. */
export function parseNewKeyBody(body: unknown): z.infer<typeof newKeySchema> {
  const r = newKeySchema.safeParse(asObject(body, '"name" and optional "scopes", "roles", "expiresAt"'));
  if (!r.success) throw invalid(zodProblems(r.error, []));
  return r.data;
}

/** POST /admin/api-keys/:name/rotate: `{ overlapSec? }`, how long the old key stays valid (default an hour). */
export function parseRotateBody(body: unknown): z.infer<typeof rotateSchema> {
  const r = rotateSchema.safeParse(asObject(body ?? {}, 'an optional "overlapSec"'));
  if (!r.success) throw invalid(zodProblems(r.error, []));
  return r.data;
}

/** POST /admin/debug/cpu-profile?seconds=N: 1..60, default 10. */
export function parseSeconds(query: URLSearchParams): number {
  const r = secondsSchema.safeParse(query.get('seconds') ?? undefined);
  if (!r.success) throw invalid(zodProblems(r.error, ['seconds']));
  return r.data;
}

/** GET /admin/stats?windowSec=N: 1..3600, default 60. */
export function parseWindow(query: URLSearchParams): number {
  const r = windowSchema.safeParse(query.get('windowSec') ?? undefined);
  if (!r.success) throw invalid(zodProblems(r.error, ['windowSec']));
  return r.data;
}

function asObject(body: unknown, expected: string): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw invalid([`(body): expected a JSON object with ${expected}`]);
  return body as Record<string, unknown>;
}

function check(schema: z.ZodType, value: unknown, field: string): string[] {
  const r = schema.safeParse(value);
  return r.success ? [] : zodProblems(r.error, [field]);
}

function invalid(problems: string[]): FleetError {
  return new FleetError('INVALID_PARAMS', problems.join('; '));
}
