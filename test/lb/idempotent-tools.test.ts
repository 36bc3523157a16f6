/**
 * What haproxy/mcp-lb.cfg may run twice is what the gateway itself would: the methods of its
 * repeatable_method rule are the gateway's safe methods (gateway/relay/idempotent.ts) plus the two
 * only a front door sees (initialize, subscriptions/listen), and haproxy/mcp-idempotent-tools.lst
 * names exactly the compose stack's tools that their servers annotate readOnlyHint or
 * idempotentHint, as clients see them through the gateway: here the real memory and filesystem
 * servers (the pipeline's are checked by test/pipeline/mcp-server.test.ts).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { listedTools } from '../../activities/failover';
import { SAFE_METHODS } from '../../gateway/relay/idempotent';
import { connectClient, disconnect, newMarker, startTestGateway, type TestGateway } from '../helpers/gateway';
import { HAPROXY_CFG, HAPROXY_IDEMPOTENT_TOOLS } from '../helpers/load-balancers';
import { waitForNoProcesses } from '../helpers/processes';
import { filesystem, memory } from '../helpers/servers';

describe('what haproxy may repeat on another replica', () => {
  it('repeats the methods the gateway retries, every */list, initialize and subscriptions/listen', () => {
    const cfg = readFileSync(HAPROXY_CFG, 'utf8');
    const rule = (match: string) =>
      [...cfg.matchAll(new RegExp(`^\\s*acl repeatable_method req\\.body,json_query\\('\\$\\.method'\\) -m ${match} (.+)$`, 'gm'))].flatMap((m) =>
        m[1].split(/\s+/),
      );
    expect(rule('str').sort()).toEqual([...SAFE_METHODS, 'initialize', 'subscriptions/listen'].sort());
    expect(rule('end')).toEqual(['/list']);
  });

  describe('the stack tools it lists', () => {
    const marker = newMarker();
    const dir = mkdtempSync(join(tmpdir(), 'mcp-fleet-idempotent-'));
    let gw: TestGateway;
    let client: Client;

    beforeAll(async () => {
      gw = await startTestGateway({ servers: { memory: memory(marker, join(dir, 'memory.jsonl')), filesystem: filesystem(marker, dir) } }, marker);
      client = await connectClient(gw, 'streamable-http');
    });

    afterAll(async () => {
      if (client) await disconnect(client);
      await gw?.stop();
      rmSync(dir, { recursive: true, force: true });
      expect(await waitForNoProcesses(marker)).toEqual([]);
    });

    it('are exactly the tools of memory and filesystem annotated readOnlyHint or idempotentHint', async () => {
      const { tools } = await client.listTools();
      const safe = tools.filter((t) => t.annotations?.readOnlyHint === true || t.annotations?.idempotentHint === true).map((t) => t.name);
      expect(safe.length).toBeGreaterThan(0);
      expect(tools.length).toBeGreaterThan(safe.length); // and some are not: the list is a choice
      const ofThese = listedTools(readFileSync(HAPROXY_IDEMPOTENT_TOOLS, 'utf8')).filter((t) => /^(memory|filesystem)__/.test(t));
      expect(ofThese.sort()).toEqual(safe.sort());
    });
  });
});
