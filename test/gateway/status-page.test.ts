/**
 * The status page (/admin/status) in a real browser: Debian's Chromium, headless, driven by
 * playwright-core (no browser is downloaded). It asks for the admin token and refuses a wrong one; with the right one it shows
 * the test's fleet (both servers, their backends' health, era and version, the calls made), the
 * door's refusal of a client without a key, and the Temporal UI link; a hostile server's version
 * is shown as text and runs nothing; a screenshot of the servers table has the table's size and is
 * not blank. The page is served only with the admin API on, with headers that keep it to itself.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { connectGateway, type GatewayConnection } from '../../gateway/client/connect';
import { ROOT } from '../containers/support/docker';
import { ADMIN_TOKEN } from '../helpers/admin';
import { newMarker, startTestGateway, type TestGateway } from '../helpers/gateway';
import { waitForNoProcesses } from '../helpers/processes';
import { scripted } from '../helpers/scripted';
import { testSecret } from '../helpers/secret-values';
import { waitFor } from '../helpers/wait';
import { processesMentioning } from '../pipeline/temporal';

jest.setTimeout(120_000);

const CHROMIUM = '/usr/lib/chromium/chromium';
const KEY = testSecret('status-page-agent-key-0123456789abcdefghijkl', 'API key of status-page.test.ts');
/** What a hostile upstream may say its version is: the page must show it, not run it. */
const HOSTILE = '<img src=x onerror="window.__pwned=1">9.9.9';
const TEMPORAL_UI = 'http://127.0.0.1:8233';

/** The rows of a table on the page, each as its cells' text. */
function rows(page: Page, table: string): Promise<string[][]> {
  return page.$$eval(`#${table} tbody tr`, (trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent ?? '')));
}

describe('the status page', () => {
  const marker = newMarker();
  let gw: TestGateway;
  let agent: GatewayConnection;
  let browser: BrowserContext;
  let profile: string;

  beforeAll(async () => {
    execFileSync('bash', [join(ROOT, 'scripts', 'ci-chromium.sh')], { stdio: 'inherit' });
    gw = await startTestGateway(
      {
        admin: { token: ADMIN_TOKEN, temporalUi: TEMPORAL_UI },
        auth: { apiKeys: { keys: [{ name: 'agent', key: KEY }] } },
        servers: {
          notes: scripted(marker, ['--name', 'notes']),
          search: scripted(marker, ['--name', 'search', '--version', HOSTILE]),
        },
      },
      marker,
    );
    agent = await connectGateway(gw.url, 'streamable-http', { name: 'agent', version: '1.0.0', headers: { authorization: `Bearer ${KEY}` } });
    profile = mkdtempSync(join(tmpdir(), 'mcp-fleet-chromium-'));
    browser = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      viewport: { width: 1600, height: 1000 },
      // root in a container: Chromium's sandbox needs user namespaces it may not have
      args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
    });
  });

  afterAll(async () => {
    await browser?.close();
    await agent?.close();
    await gw?.stop();
    expect(await waitForNoProcesses(marker)).toEqual([]);
    expect(processesMentioning(profile)).toEqual([]);
    rmSync(profile, { recursive: true, force: true });
  });

  it('is served with the admin API only, by GET, keeping its page to itself', async () => {
    const res = await fetch(`${gw.url}/admin/status`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(res.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(res.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    expect(res.headers.get('cache-control')).toBe('no-store');
    // the page carries no data; the data needs the admin token
    expect(await res.text()).not.toContain('notes');
    expect((await fetch(`${gw.url}/admin/servers`)).status).toBe(401);
    expect((await fetch(`${gw.url}/admin/status/app.js`)).headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    const post = await fetch(`${gw.url}/admin/status`, { method: 'POST' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');

    const plainMarker = newMarker();
    const plain = await startTestGateway({ servers: { notes: scripted(plainMarker) } }, plainMarker);
    try {
      expect((await fetch(`${plain.url}/admin/status`)).status).toBe(404);
    } finally {
      await plain.stop();
    }
    expect(await waitForNoProcesses(plainMarker)).toEqual([]);
  });

  it('shows the fleet in Chromium once given the admin token, refusing a wrong one', async () => {
    await agent.client.callTool({ name: 'notes__echo', arguments: { text: 'hi' } });
    await agent.client.callTool({ name: 'notes__echo', arguments: { text: 'again' } });
    // a client without a key: the door refuses it, and the page lists the refusal
    expect((await fetch(`${gw.url}/mcp`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })).status).toBe(401);

    const page = await browser.newPage();
    await page.goto(`${gw.url}/admin/status`);
    await page.locator('#login').waitFor({ state: 'visible' });
    expect(await page.locator('#fleet').isHidden()).toBe(true);

    await page.fill('#token', 'not-the-admin-token');
    await page.click('#login button[type=submit]');
    await page.waitForFunction(`document.getElementById('login-error').textContent.length > 0`);
    expect(await page.$eval('#login-error', (el) => el.textContent)).toContain('the bearer credential is not valid');

    await page.fill('#token', ADMIN_TOKEN);
    await page.click('#login button[type=submit]');
    await page.locator('#fleet').waitFor({ state: 'visible' });
    const servers = await waitFor(
      async () => {
        const r = await rows(page, 'servers');
        // both servers up, and the calls of this test counted
        return r.length === 2 && r.every((cells) => cells[4] === 'healthy') && r.find((c) => c[0] === 'notes')?.[11] === '2' ? r : undefined;
      },
      'the page to show both servers healthy and the calls made',
      30_000,
      250,
    );
    const [notes, search] = ['notes', 'search'].map((name) => servers.find((cells) => cells[0] === name)!);
    expect(notes.slice(0, 8)).toEqual(['notes', 'shared', 'primary', 'ready', 'healthy', '100', 'stdio', 'legacy / 2025-11-25']);
    expect(notes[8]).toBe('1.0.0');
    expect(notes[12]).toBe('0.0%');
    // the hostile version is text on the page, and nothing of it ran
    expect(search[8]).toBe(HOSTILE);
    expect(await page.evaluate(`document.querySelectorAll('img').length`)).toBe(0);
    expect(await page.evaluate(`window.__pwned`)).toBeUndefined();

    const refusals = await rows(page, 'refusals');
    expect(refusals).toContainEqual([expect.any(String), 'the door', 'missing', '–']);
    expect(await page.evaluate(`[document.getElementById('temporal').hidden, document.getElementById('temporal').href]`)).toEqual([
      false,
      `${TEMPORAL_UI}/namespaces/default/workflows`,
    ]);
    expect(await page.$eval('#gateway', (el) => el.textContent)).toMatch(/^gateway \d+\.\d+\.\d+, up since /);

    // the rendered table: screenshots of its header and its rows, read back in a page of their own;
    // each has its element's size, and the rows have dark text as the header has (an empty table's
    // one grey "no servers" row has none)
    const reader = await browser.newPage();
    const look = async (selector: string) => {
      const element = page.locator(selector);
      const box = (await element.boundingBox())!;
      const png = await element.screenshot({ type: 'png' });
      // runs in the browser (the project's types know no DOM: the function is given as text)
      const picture = await reader.evaluate<{ width: number; height: number; colours: number; dark: number }>(`(async () => {
        const img = new Image();
        img.src = 'data:image/png;base64,${png.toString('base64')}';
        await img.decode();
        const canvas = document.createElement('canvas');
        [canvas.width, canvas.height] = [img.width, img.height];
        const ctx = canvas.getContext('2d');
        ctx.drawImage(img, 0, 0);
        const data = ctx.getImageData(0, 0, img.width, img.height).data;
        const colours = new Set();
        let dark = 0;
        for (let i = 0; i < data.length; i += 4) {
          colours.add((data[i] << 16) | (data[i + 1] << 8) | data[i + 2]);
          if (data[i] + data[i + 1] + data[i + 2] < 200) dark++;
        }
        return { width: img.width, height: img.height, colours: colours.size, dark };
      })()`);
      // the element's box in CSS pixels (at fractional offsets), the picture in whole ones
      expect(Math.abs(picture.width - box.width)).toBeLessThanOrEqual(2);
      expect(Math.abs(picture.height - box.height)).toBeLessThanOrEqual(2);
      return picture;
    };
    const header = await look('#servers thead');
    const body = await look('#servers tbody');
    expect(header.dark).toBeGreaterThan(0);
    expect(body.colours).toBeGreaterThan(20);
    expect(body.dark).toBeGreaterThan(header.dark / 2);
    await reader.close();

    // forgetting the token shows the form again, and the data is no longer fetched
    await page.click('#signout');
    await page.locator('#login').waitFor({ state: 'visible' });
    expect(await page.evaluate(`sessionStorage.length`)).toBe(0);
    await page.close();
  });
});
