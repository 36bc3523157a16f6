/**
 * security-hardening: every container and network of a compose project checked against the
 * hardening rules of docs/containers.md, as the engine reports them (`docker inspect`). Each
 * violation is a finding; the step passes only with none.
 */
import type Docker from 'dockerode';
import type { StepInput, StepResult } from '../pipeline/types';
import { docker, NETWORK_LABEL, projectContainers, projectNetworks, stackOf } from './engine';
import { heartbeat } from './runtime';

export interface Finding {
  /** container or network name */
  subject: string;
  rule: string;
  found: string;
}

/** The rules for one container's inspect document; exported for unit tests. */
export function containerFindings(c: Docker.ContainerInspectInfo): Finding[] {
  const subject = c.Name.replace(/^\//, '');
  const h = c.HostConfig;
  const findings: Finding[] = [];
  const add = (rule: string, found: string) => findings.push({ subject, rule, found });
  const user = c.Config.User ?? '';
  if (user === '' || /^(0|root)(:|$)/.test(user)) add('runs as a non-root user', `User '${user || '(image default: root)'}'`);
  if (!(h.CapDrop ?? []).some((cap: string) => cap.toUpperCase() === 'ALL'))
    add('drops all capabilities (cap_drop: ALL)', `CapDrop ${JSON.stringify(h.CapDrop ?? [])}`);
  if ((h.CapAdd ?? []).length) add('adds no capabilities', `CapAdd ${JSON.stringify(h.CapAdd)}`);
  if (h.Privileged) add('is not privileged', 'Privileged true');
  if (!(h.SecurityOpt ?? []).some((o: string) => /^no-new-privileges(:true|=true)?$/.test(o)))
    add('sets no-new-privileges', `SecurityOpt ${JSON.stringify(h.SecurityOpt ?? [])}`);
  if (!h.ReadonlyRootfs) add('has a read-only root filesystem', 'ReadonlyRootfs false');
  if (!h.Memory) add('has a memory limit', 'Memory 0 (unlimited)');
  if (!h.NanoCpus && !h.CpuQuota) add('has a CPU limit', 'NanoCpus and CpuQuota 0 (unlimited)');
  if (!h.PidsLimit || h.PidsLimit < 0) add('has a pids limit', `PidsLimit ${h.PidsLimit ?? 'unset'}`);
  // Whoever holds the engine's socket is root on the host: reported even where it is deliberate
  // (docker-compose.pipeline-engine.yml), so an audit never passes with one.
  for (const source of engineSockets(c)) add('mounts no Docker engine socket (root on the host)', `bind ${source}`);
  for (const [port, bindings] of Object.entries(h.PortBindings ?? {})) {
    for (const b of (bindings as { HostIp?: string; HostPort?: string }[] | null) ?? []) {
      if (!b.HostIp || b.HostIp === '0.0.0.0' || b.HostIp === '::')
        add('publishes ports on loopback only', `${port} on ${b.HostIp || 'all interfaces'}:${b.HostPort}`);
    }
  }
  return findings;
}

/** Host paths of Docker engine sockets bound into the container (Mounts, and Binds for created ones). */
function engineSockets(c: Docker.ContainerInspectInfo): string[] {
  const sources = [
    ...(c.Mounts ?? []).filter((m) => m.Type === 'bind').map((m) => m.Source),
    ...(c.HostConfig.Binds ?? []).map((b: string) => b.split(':')[0]),
  ];
  return [...new Set(sources.filter((s) => /(^|\/)docker\.sock$/.test(s)))];
}

/**
 * A network with a route out: not internal, and NAT to the outside not switched off. A bridge with
 * enable_ip_masquerade=false can publish a port on the host (the Temporal UI's network) while its
 * containers cannot reach beyond the host.
 */
export function routesOut(n: Pick<Docker.NetworkInspectInfo, 'Internal' | 'Options'>): boolean {
  return !n.Internal && n.Options?.['com.docker.network.bridge.enable_ip_masquerade'] !== 'false';
}

/**
 * Checks every container of the project (target) and its networks: the backend networks
 * (params.internalNetworks, default ['backend']) must be internal, and every container but the
 * gateway must be on networks without a route out only (see routesOut).
 */
export async function inspectHardening(input: StepInput): Promise<StepResult> {
  const { project } = stackOf(input);
  const engine = await docker();
  const containers = await projectContainers(project);
  if (containers.length === 0)
    return { outcome: 'failed', summary: `no containers in compose project ${project} to audit; deploy it first`, details: { project } };
  const findings: Finding[] = [];
  const inspected: string[] = [];
  for (const c of containers) {
    heartbeat(`inspecting ${c.Names[0]}`);
    const info = await engine.getContainer(c.Id).inspect();
    inspected.push(info.Name.replace(/^\//, ''));
    findings.push(...containerFindings(info));
  }
  const networks = await projectNetworks(project);
  const internalWanted = (input.params.internalNetworks as string[] | undefined) ?? ['backend'];
  const byName = new Map(networks.map((n) => [n.Labels?.[NETWORK_LABEL] ?? n.Name, n]));
  for (const name of internalWanted) {
    const n = byName.get(name);
    if (!n) findings.push({ subject: `${project}/${name}`, rule: 'the backend network exists', found: 'no such network in the project' });
    else if (!n.Internal) findings.push({ subject: n.Name, rule: 'the backend network is internal (no route out)', found: 'Internal false' });
  }
  const gatewayService = String(input.params.gatewayService ?? 'gateway');
  for (const c of containers) {
    if (c.Labels['com.docker.compose.service'] === gatewayService) continue;
    for (const netName of Object.keys(c.NetworkSettings?.Networks ?? {})) {
      const n = networks.find((x) => x.Name === netName);
      if (n && routesOut(n))
        findings.push({ subject: c.Names[0].replace(/^\//, ''), rule: 'only the gateway is on a network with a route out', found: `on ${netName}` });
    }
  }
  const summary = findings.length
    ? `${findings.length} hardening findings in ${project}: ${findings
        .slice(0, 3)
        .map((f) => `${f.subject} ${f.rule} (${f.found})`)
        .join('; ')}${findings.length > 3 ? '; …' : ''}`
    : `${inspected.length} containers and ${networks.length} networks of ${project} meet every hardening rule`;
  return {
    outcome: findings.length ? 'failed' : 'passed',
    summary,
    details: { project, containers: inspected, networks: networks.map((n) => n.Name), findings },
  };
}
