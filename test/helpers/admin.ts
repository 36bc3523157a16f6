/** Calls a test gateway's admin API over real HTTP, returning status, headers and parsed body. */
import { startTestGateway, type TestGateway } from './gateway';
import { testSecret } from './secret-values';

export interface AdminReply {
  status: number;
  headers: Headers;
  body: any;
}

export const ADMIN_TOKEN = testSecret('test-admin-token-0123456789-abcdefghij', 'ADMIN_TOKEN of test/helpers/admin.ts');

/** What tests register at run time: servers run by this node binary, loopback URLs, the project's images. */
export const TEST_REGISTER = {
  commands: [process.execPath],
  urls: ['http://127.0.0.1:*/*', 'ws://127.0.0.1:*/*'],
  images: ['mcp-fleet*'],
};

/** A test gateway with the admin API on (token ADMIN_TOKEN, registration as TEST_REGISTER) serving `servers`. */
export function startAdminGateway(marker: string, servers: Record<string, unknown>): Promise<TestGateway> {
  return startTestGateway({ admin: { token: ADMIN_TOKEN, register: TEST_REGISTER }, servers }, marker);
}

/**
 * `token: null` sends no Authorization header; `body` as a string is sent as it is (for bad JSON).
 * A key the API hands out (`key` in the reply) is registered as a test secret.
 */
export async function admin(
  gw: Pick<TestGateway, 'url'>,
  method: string,
  path: string,
  options: { body?: unknown; token?: string | null; headers?: Record<string, string> } = {},
): Promise<AdminReply> {
  const token = options.token === undefined ? ADMIN_TOKEN : options.token;
  const headers: Record<string, string> = { ...(token === null ? {} : { authorization: `Bearer ${token}` }), ...options.headers };
  let body: string | undefined;
  if (options.body !== undefined) {
    body = typeof options.body === 'string' ? options.body : JSON.stringify(options.body);
    headers['content-type'] = 'application/json';
  }
  const res = await fetch(`${gw.url}${path}`, { method, headers, body });
  const text = await res.text();
  const reply = text ? JSON.parse(text) : undefined;
  if (typeof reply?.key === 'string') testSecret(reply.key, `API key issued by ${method} ${path}`);
  return { status: res.status, headers: res.headers, body: reply };
}
