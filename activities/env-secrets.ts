/**
 * security-hardening, secrets in container environments: `docker inspect` of every container of
 * the compose project shows no variable whose name says it holds a secret (TOKEN, SECRET,
 * PASSWORD, KEY, ...) with a literal value. A reference is fine: a *_FILE path (entrypoint.sh
 * reads the file), a `${secret:...}` reference, or an empty value. Findings name the container and
 * the variable, never the value.
 */
import type { StepInput, StepResult } from '../pipeline/types';
import { docker, projectContainers, stackOf } from './engine';
import type { Finding } from './hardening';
import { heartbeat } from './runtime';
import { findingsResult } from './stack-config';

/** Name words that mark a secret; matched per `_`-separated word, so KEYBOARD or MONKEY do not count. */
const SECRET_WORDS = /^(TOKEN|TOKENS|SECRET|SECRETS|PASSWORD|PASSWD|PASS|PASSPHRASE|KEY|KEYS|APIKEY|CREDENTIAL|CREDENTIALS|PRIVATE)$/;

/** True when the name looks like a secret's: a word of it is TOKEN, SECRET, PASSWORD, KEY, ... */
export function secretLikeName(name: string): boolean {
  return name
    .toUpperCase()
    .split(/[_\W]+/)
    .some((w) => SECRET_WORDS.test(w));
}

/** A value that points at a secret rather than being one. */
function isReference(name: string, value: string): boolean {
  if (value === '' || /^\$\{secret:[^}]+\}$/.test(value)) return true;
  return /_(FILE|PATH|DIR)$/i.test(name) && value.startsWith('/');
}

/** The secret-looking literal variables of one container's `Config.Env`; pure, exported for tests. */
export function envSecretFindings(container: string, env: string[]): Finding[] {
  return env.flatMap((entry) => {
    const [name, value = ''] = entry.split(/=(.*)/s, 2);
    if (!secretLikeName(name) || isReference(name, value)) return [];
    return [
      {
        subject: container,
        rule: 'keeps secrets out of its environment (use a *_FILE secret)',
        found: `${name} holds a literal value (${value.length} characters)`,
      },
    ];
  });
}

/** Every container of the project (target), any state, as `docker inspect` shows its environment. */
export async function auditContainerSecrets(input: StepInput): Promise<StepResult> {
  const { project } = stackOf(input);
  const engine = await docker();
  const containers = await projectContainers(project);
  if (containers.length === 0)
    return { outcome: 'failed', summary: `no containers in compose project ${project} to audit for secrets; deploy it first`, details: { project } };
  const findings: Finding[] = [];
  const inspected: string[] = [];
  for (const c of containers) {
    heartbeat(`inspecting the environment of ${c.Names[0]}`);
    const info = await engine.getContainer(c.Id).inspect();
    const name = info.Name.replace(/^\//, '');
    inspected.push(name);
    findings.push(...envSecretFindings(name, info.Config.Env ?? []));
  }
  return findingsResult('container secret', findings, `no secret-looking literal in the environment of ${inspected.length} containers of ${project}`, {
    project,
    containers: inspected,
  });
}
