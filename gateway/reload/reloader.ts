/**
 * Hot reload of the gateway's config file. A reload (the file changed, SIGHUP, POST /admin/reload)
 * reads and validates the whole file first; an invalid one is refused with its file and fields,
 * and the config in force stays, untouched. A valid one is applied as a diff against the config in
 * force (config/diff.ts): the live settings (policy, rate-limit rules, the config's API keys, the
 * log level, the call line, the trace export) are swapped, all in the same turn of the event loop; servers
 * are added, replaced (new upstream first, old one drained) and removed (drained: new calls
 * refused, calls in flight finish, then stopped); unchanged servers keep their upstreams. What only
 * a restart can change is reported as such and not applied. Reloads run one at a time, in order.
 *
 * The file is the truth for the servers it changes: one the admin API removed at run time comes
 * back, with its new settings, when a reload changes it (and the answer says so), while a reload
 * that leaves it as it was leaves it removed; one it removes that is gone already is passed over.
 * Servers that are no part of the file (the admin API's, discovery's) are never touched.
 */
import type { Logger } from 'pino';
import type { ApiKeyStore } from '../auth/api-keys';
import type { Policy } from '../auth/policy';
import { diffConfigs, type ConfigDiff, type ReloadOutcome } from '../config/diff';
import { loadConfigFile } from '../config/load';
import { checkPrefixes } from '../config/prefixes';
import type { GatewayConfig } from '../config/schema';
import type { SecretStore } from '../config/secrets/store';
import type { CallStats } from '../metrics/call-stats';
import type { GatewayCore } from '../core';
import type { GatewayMetrics } from '../metrics/registry';
import { toFleetError, type FleetError } from '../protocol/errors';
import type { RateLimits } from '../relay/rate-limits';
import type { ServerRegistry } from '../servers/registry';

export interface ReloaderDeps {
  /** The config file and the command line's overrides of it (they win over every version of the file). */
  file: string;
  overrides: { listen?: string };
  registry: ServerRegistry;
  policy: Policy;
  rateLimits: RateLimits;
  apiKeys: ApiKeyStore | undefined;
  stats: CallStats;
  /** Tells every client its lists may differ (the policy changed what each may see). */
  listsChanged(): void;
  metrics: GatewayMetrics;
  /** Where `log.calls` and `tracing` go live. */
  observability: Pick<GatewayCore, 'replaceTracing' | 'setCallLog'>;
  log: Logger;
  /** True once shutdown began: a reload then changes nothing. */
  draining(): boolean;
}

export class ConfigReloader {
  private queue: Promise<unknown> = Promise.resolve();
  /** The secret stores of the versions applied since start: their servers may still use them. */
  private readonly stores: SecretStore[] = [];

  constructor(
    private current: GatewayConfig,
    private readonly deps: ReloaderDeps,
  ) {}

  /** The config in force. */
  get config(): GatewayConfig {
    return this.current;
  }

  /** Reads the file again and applies it, after any reload already running; `trigger` names the cause in logs and answers. */
  reload(trigger: string): Promise<ReloadOutcome> {
    const next = this.queue.then(() => this.run(trigger));
    this.queue = next.catch(() => {});
    return next;
  }

  /** Closes the secret stores of reloaded versions (at shutdown, after the servers stopped). */
  close(): void {
    for (const store of this.stores.splice(0)) store.close();
  }

  private async run(trigger: string): Promise<ReloadOutcome> {
    const { file, log, metrics } = this.deps;
    const started = performance.now();
    if (this.deps.draining()) return this.refused(trigger, 'the gateway is shutting down; the config is not reloaded', []);
    let next: GatewayConfig;
    let secrets: SecretStore | undefined;
    try {
      ({ config: next, secrets } = await loadConfigFile(file, this.deps.overrides, { log }));
    } catch (err) {
      const error = toFleetError(err);
      const problems = problemsOf(error) ?? [];
      return this.refused(trigger, error.message, problems);
    }
    const diff = diffConfigs(this.current, next);
    const problems = this.conflicts(diff, next);
    if (problems.length > 0) {
      secrets?.close();
      return this.refused(trigger, `invalid config ${file}:\n${problems.map((p) => `  - ${p}`).join('\n')}`, problems);
    }
    if (secrets) this.stores.push(secrets);
    this.swap(diff, next);
    const restored = await this.applyServers(diff, next);
    this.current = next;
    const durationMs = Math.round((performance.now() - started) * 10) / 10;
    metrics.recordReload('applied', durationMs);
    const outcome = { trigger, durationMs, ...diff, ...(restored.length > 0 ? { restored } : {}) };
    log.info({ file, ...outcome }, 'config reloaded');
    if (diff.needsRestart.length > 0)
      log.warn({ file, needsRestart: diff.needsRestart }, 'config reloaded; these settings changed but take effect only after a restart');
    return { result: 'applied', ...outcome };
  }

  /**
   * What the file asks that the running gateway cannot take, found before anything changes: a
   * new server whose name a server registered at run time already has, a changed server that a
   * backend added to it at run time (admin API, discovery) does not fit, and prefixes that collide
   * with those of the servers that stay.
   */
  private conflicts(diff: ConfigDiff, next: GatewayConfig): string[] {
    const { registry } = this.deps;
    const problems = diff.servers.added
      .filter((name) => registry.find(name))
      .map((name) => `servers.${name}: a server named "${name}" was registered at run time (admin API or discovery); DELETE it first or pick another name`);
    const fromFile = new Map(next.servers.map((s) => [s.name, s]));
    for (const name of diff.servers.changed) {
      try {
        registry.find(name)?.changedTo(fromFile.get(name)!);
      } catch (err) {
        const error = toFleetError(err);
        problems.push(...(problemsOf(error) ?? [error.message]));
      }
    }
    const removed = new Set(diff.servers.removed);
    const after = registry.servers.filter((p) => !removed.has(p.name) && !fromFile.has(p.name)).map((p) => p.config);
    return problems.concat(checkPrefixes([...after, ...next.servers]));
  }

  /** The live settings, in one synchronous step: no call sees some new and some old. */
  private swap(diff: ConfigDiff, next: GatewayConfig): void {
    for (const setting of diff.swapped) {
      if (setting === 'policy') {
        this.deps.policy.replace(next.policy);
        this.deps.listsChanged();
      } else if (setting === 'rateLimits') this.deps.rateLimits.replace(next.rateLimits);
      else if (setting === 'log.level') this.deps.log.level = next.log.level;
      else if (setting === 'log.calls') this.deps.observability.setCallLog(next.log.calls);
      else if (setting === 'tracing') this.deps.observability.replaceTracing(next.tracing);
      else if (setting === 'auth.apiKeys.keys' && typeof next.auth === 'object') this.deps.apiKeys?.setConfigured(next.auth.apiKeys?.keys ?? []);
    }
  }

  /**
   * Added servers start, changed ones are replaced, and both serve before this resolves; removed
   * ones and the old upstreams of changed ones drain in the background (the registry stops them
   * at shutdown if they are still draining then). A changed server that the admin API removed is
   * added from the file; resolves with the names of those.
   */
  private async applyServers(diff: ConfigDiff, next: GatewayConfig): Promise<string[]> {
    const { registry, log, stats } = this.deps;
    const drainMs = next.shutdown.drainTimeoutMs;
    const byName = new Map(next.servers.map((s) => [s.name, s]));
    const background = (what: string, server: string, p: Promise<void>) =>
      void p.catch((err: Error) => log.error({ server, err: err.message }, `config reload: ${what} failed`));
    for (const name of diff.servers.removed) {
      if (!registry.find(name)) {
        log.info({ server: name }, `config reload: server "${name}" was removed at run time (admin API) already; nothing to remove`);
        continue;
      }
      background(
        'removing a server',
        name,
        registry.removeServer(name, drainMs).then(() => stats.forget(name)),
      );
    }
    const restored = diff.servers.changed.filter((name) => !registry.find(name));
    for (const name of restored)
      log.warn(
        { server: name },
        `config reload: server "${name}" was removed at run time (admin API); the file changes it, so it is served again, with its new settings`,
      );
    await Promise.all([
      ...[...diff.servers.added, ...restored].map((name) => registry.addServer(byName.get(name)!)),
      ...diff.servers.changed
        .filter((name) => !restored.includes(name))
        .map(async (name) => {
          const { drained } = await registry.replaceServer(byName.get(name)!, drainMs);
          background('draining the old upstreams of a changed server', name, drained);
        }),
    ]);
    return restored;
  }

  private refused(trigger: string, error: string, problems: string[]): ReloadOutcome {
    this.deps.metrics.recordReload('refused');
    this.deps.log.error({ trigger, file: this.deps.file, problems }, `config reload refused; the config in force stays: ${error}`);
    return { result: 'refused', trigger, file: this.deps.file, error, problems };
  }
}

/** The problems an error lists one by one (config validation, backends that do not fit), if it does. */
function problemsOf(error: FleetError): string[] | undefined {
  return Array.isArray(error.data?.problems) ? (error.data.problems as string[]) : undefined;
}
