/**
 * Checks a target is known to fail, each for a stated reason: what a translation cannot give (a
 * 2025 server behind the gateway has no input-request keys of its own and sees one session's
 * capabilities, not each request's). A listed check that fails is reported as a limit, not a
 * failure; one that passes, or is never run, is a failure, so the list never outlives its reason.
 */
import type { Finding, SuiteRun } from './suite';

/** `scenario / check` → why it cannot pass on this target. */
export type KnownLimits = Readonly<Record<string, string>>;

export function applyLimits(run: SuiteRun, limits: KnownLimits | undefined): SuiteRun {
  if (!limits) return run;
  const key = (f: Finding) => `${f.scenario} / ${f.check}`;
  const limited = run.failures.filter((f) => key(f) in limits).map((f) => ({ ...f, message: limits[key(f)] }));
  const failures = run.failures.filter((f) => !(key(f) in limits));
  const seen = new Set(limited.map(key));
  const stale = Object.keys(limits).filter((listed) => !seen.has(listed));
  for (const listed of stale) {
    const [scenario, check] = listed.split(' / ');
    failures.push({ scenario, check, message: 'listed as a known limit of this target but did not fail: take it off the list' });
  }
  return { ...run, failed: run.failed - limited.length + stale.length, failures, limits: limited };
}
