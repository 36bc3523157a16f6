/**
 * The credentials the worker uses towards the gateway. They never travel in a workflow's input (it
 * would sit in the run's history): each comes from an environment variable, else the file a
 * companion `_FILE` variable names (the same variables pick the compose stack's secrets), else
 * the stack's default secret file under docker/secrets.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { checkoutRoot } from './runtime';

function fromEnvOrFile(variable: string, exampleFile: string): string | undefined {
  const value = process.env[variable];
  if (value) return value;
  const file = secretFile(variable, exampleFile);
  return existsSync(file) ? readFileSync(file, 'utf8').trim() : undefined;
}

function secretFile(variable: string, exampleFile: string): string {
  return resolve(process.env[`${variable}_FILE`] ?? join(checkoutRoot(), 'docker', 'secrets', exampleFile));
}

/** The file the stack's client API key is read from (what `up` tells its user). */
export function clientKeyFile(): string {
  return secretFile('MCP_FLEET_CLIENT_KEY', 'client-api-key.example');
}

/** The gateway's admin.token: MCP_FLEET_ADMIN_TOKEN, MCP_FLEET_ADMIN_TOKEN_FILE, or the stack's example secret. */
export function adminToken(): string | undefined {
  return fromEnvOrFile('MCP_FLEET_ADMIN_TOKEN', 'admin-token.example');
}

/** The API key the worker uses as an MCP client of the gateway: MCP_FLEET_CLIENT_KEY, MCP_FLEET_CLIENT_KEY_FILE, or the stack's example secret. */
export function clientKey(): string | undefined {
  return fromEnvOrFile('MCP_FLEET_CLIENT_KEY', 'client-api-key.example');
}

/** The key the stack's bridges take from the gateway (the compose secret upstream_token): MCP_FLEET_TOKEN, MCP_FLEET_TOKEN_FILE, or the example. */
export function upstreamToken(): string | undefined {
  return fromEnvOrFile('MCP_FLEET_TOKEN', 'upstream-token.example');
}

/** The headers that authenticate the worker as a client (none when it has no key: a gateway without auth takes it anyway). */
export function clientHeaders(): Record<string, string> | undefined {
  const key = clientKey();
  return key ? { authorization: `Bearer ${key}` } : undefined;
}
