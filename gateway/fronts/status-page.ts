/**
 * The status page: GET /admin/status, a small web page of the fleet (servers and backends with
 * health, weights, era and version, call rates and errors, pools, recent refusals, a link to the
 * pipeline's Temporal UI). Served on whichever listener serves the admin API, and only when the
 * admin API is on.
 *
 * The page and its script and style carry no data and are served without a credential: a browser
 * cannot send a bearer token when it navigates. The data comes from the admin API itself
 * (admin:read), with the token the operator types into the page. The headers keep the page to
 * itself: its own script and style only, no frames, no referrer, nothing cached.
 */
import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { FleetError } from '../protocol/errors';

export const STATUS_PAGE_PATH = '/admin/status';

const ASSETS: Record<string, { file: string; type: string }> = {
  [STATUS_PAGE_PATH]: { file: 'page.html', type: 'text/html; charset=utf-8' },
  [`${STATUS_PAGE_PATH}/app.js`]: { file: 'app.js', type: 'text/javascript; charset=utf-8' },
  [`${STATUS_PAGE_PATH}/style.css`]: { file: 'style.css', type: 'text/css; charset=utf-8' },
};

const HEADERS = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
};

const loaded = new Map<string, Buffer>();

/** The asset's bytes, read once (next to this file in src and, copied by `npm run build`, in dist). */
function asset(file: string): Buffer {
  let bytes = loaded.get(file);
  if (!bytes) {
    try {
      bytes = readFileSync(join(__dirname, 'status-page', file));
    } catch {
      throw new FleetError('INTERNAL', `the status page's ${file} is missing from ${join(__dirname, 'status-page')}; run npm run build`);
    }
    loaded.set(file, bytes);
  }
  return bytes;
}

/** Answers the page and its assets; false for any other path. */
export function answerStatusPage(req: IncomingMessage, res: ServerResponse, url: URL): boolean {
  const found = Object.hasOwn(ASSETS, url.pathname) ? ASSETS[url.pathname] : undefined;
  if (!found) return false;
  if (req.method !== 'GET' && req.method !== 'HEAD')
    throw new FleetError('METHOD_NOT_ALLOWED', `${url.pathname} answers GET only`, { data: { allow: 'GET, HEAD' } });
  const body = asset(found.file);
  res.writeHead(200, { ...HEADERS, 'content-type': found.type, 'content-length': body.length });
  res.end(req.method === 'HEAD' ? undefined : body);
  return true;
}
