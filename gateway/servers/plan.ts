/**
 * A server as configured: its settings and the backends that should serve it, each with a weight.
 * Nothing here is live. The registry keeps one plan per server; a shared server's live group and a
 * per-session server's groups are made from it, and read weights from its backend specs, so a
 * weight change is made in one place. Every server starts with the `primary` backend of its config.
 */
import { sameServer } from '../config/diff';
import { prefixOf } from '../config/prefixes';
import type { ServerConfig } from '../config/schema';
import type { Era } from '../protocol/eras';
import { FleetError } from '../protocol/errors';
import type { BackendState } from './state';
import { SmoothWeightedPicker } from './picker';

export const PRIMARY_BACKEND = 'primary';

/** Who added a backend that no config file entry makes (runtime-backends.ts). */
export type BackendOrigin = { by: 'admin API' } | { by: 'discovery'; container: string };

/** What a backend is: its id, its share of traffic, and the server settings with its own transport. */
export interface BackendSpec {
  readonly id: string;
  weight: number;
  readonly config: ServerConfig;
  /**
   * Set on a backend added at run time that no config file entry makes (the admin API's, a
   * discovered container's; a DNS replica set's members are not: the set makes them anew): who
   * added it, and its config under other settings of its server (its own transport fields, the
   * rest from `server`), so that a config reload that changes the server keeps it. rebase throws
   * INVALID_PARAMS naming the fields that do not fit.
   */
  readonly runtime?: { readonly origin: BackendOrigin; readonly rebase: (server: ServerConfig) => ServerConfig };
}

/** What a probe found when a per-session backend was registered at runtime (no session uses it yet). */
export interface ProbeResult {
  state: BackendState;
  /** The names of the tools it offered, as the server gives them. */
  toolNames: string[];
}

export class ServerPlan {
  readonly specs: BackendSpec[];
  readonly prefix: string | undefined;
  readonly probes = new Map<string, ProbeResult>();
  /**
   * The protocol generation each backend's first probe found (protocol: auto), by backend id: every
   * later connection to it starts with it, a reconnect's and other sessions' of a per-session server.
   */
  readonly eras = new Map<string, Era>();
  /** Picks the backend a new session binds to (per-session servers). */
  private readonly sessionPicker = new SmoothWeightedPicker();

  constructor(readonly config: ServerConfig) {
    this.specs = [{ id: PRIMARY_BACKEND, weight: 100, config }];
    this.prefix = prefixOf(config);
  }

  get name(): string {
    return this.config.name;
  }

  get shared(): boolean {
    return this.config.mode === 'shared';
  }

  spec(id: string): BackendSpec | undefined {
    return this.specs.find((s) => s.id === id);
  }

  /** The backend spec, or NOT_FOUND naming the server's backends. */
  get(id: string): BackendSpec {
    const spec = this.spec(id);
    if (!spec) throw new FleetError('NOT_FOUND', `server "${this.name}" has no backend "${id}"; it has ${this.specs.map((s) => s.id).join(', ')}`);
    return spec;
  }

  add(spec: BackendSpec): void {
    if (this.spec(spec.id)) throw new FleetError('CONFLICT', `server "${this.name}" already has a backend "${spec.id}"; pick another id or DELETE it first`);
    this.specs.push(spec);
    this.sessionPicker.reset();
  }

  /** Removes a backend; refused when it is the last one or only weight-0 backends would remain. */
  remove(id: string): BackendSpec {
    const spec = this.get(id);
    if (this.specs.length === 1)
      throw new FleetError('CONFLICT', `backend "${id}" is the last one of server "${this.name}"; DELETE /admin/servers/${this.name} to remove the server`);
    if (this.specs.every((s) => s === spec || s.weight === 0)) {
      throw new FleetError(
        'CONFLICT',
        `removing backend "${id}" would leave server "${this.name}" with no backend of weight > 0; PUT /admin/servers/${this.name}/weights first`,
      );
    }
    this.specs.splice(this.specs.indexOf(spec), 1);
    this.probes.delete(id);
    this.eras.delete(id);
    this.sessionPicker.reset();
    return spec;
  }

  /** Sets the weights named (the others keep theirs); one backend must keep a weight > 0. */
  setWeights(weights: Record<string, number>): Record<string, number> {
    const unknown = Object.keys(weights).find((id) => !this.spec(id));
    if (unknown !== undefined)
      throw new FleetError(
        'INVALID_PARAMS',
        `${unknown}: server "${this.name}" has no backend "${unknown}" (it has ${this.specs.map((s) => s.id).join(', ')})`,
      );
    if (this.specs.every((s) => (Object.hasOwn(weights, s.id) ? weights[s.id] : s.weight) === 0)) {
      throw new FleetError('INVALID_PARAMS', `at least one backend of server "${this.name}" needs a weight > 0`);
    }
    for (const s of this.specs) if (Object.hasOwn(weights, s.id)) s.weight = weights[s.id];
    this.sessionPicker.reset();
    return this.weights();
  }

  weights(): Record<string, number> {
    return Object.fromEntries(this.specs.map((s) => [s.id, s.weight]));
  }

  /**
   * The plan of a changed version of this server (`config`, from a config reload). It keeps the
   * backends added at run time (admin API, discovered containers), remade under `config`, with
   * their weights; one whose settings come out the same is kept as it is, the very spec, so that
   * its live backend carries over (its connection, and the tasks on it). When it keeps any, the
   * primary keeps its weight too (the weights were set for that set of backends). Others are not
   * kept (a DNS replica set makes the new plan's replicas anew). Throws INVALID_PARAMS, each
   * problem naming a backend that does not fit the new settings, why, and what to do.
   */
  changedTo(config: ServerConfig): ServerPlan {
    const plan = new ServerPlan(config);
    const problems: string[] = [];
    for (const spec of this.specs) {
      if (!spec.runtime) continue;
      let rebased: ServerConfig;
      try {
        rebased = spec.runtime.rebase(config);
      } catch (err) {
        problems.push(misfit(this.name, spec, (err as Error).message));
        continue;
      }
      if (!sameServer(rebased, spec.config)) plan.add({ ...spec, config: rebased });
      else {
        plan.add(spec);
        const era = this.eras.get(spec.id);
        if (era) plan.eras.set(spec.id, era);
        const probe = this.probes.get(spec.id);
        if (probe) plan.probes.set(spec.id, probe);
      }
    }
    if (problems.length > 0) throw new FleetError('INVALID_PARAMS', problems.join('; '), { data: { problems } });
    // the set's weights hold when they still send traffic somewhere (a weight-0 primary beside weight-0 backends would not)
    const primary = this.spec(PRIMARY_BACKEND);
    if (primary && plan.specs.some((s) => s.id !== PRIMARY_BACKEND && s.weight > 0)) plan.specs[0].weight = primary.weight;
    return plan;
  }

  /** Whether `spec` is this plan's own (a changed plan kept it as it was: its live backends carry over). */
  holds(spec: BackendSpec): boolean {
    return this.specs.includes(spec);
  }

  /** The backend a new client session binds to for its life: by weight only; `avoid` is one it must not (its last one died). */
  pickForSession(avoid?: string): BackendSpec {
    const specs = avoid === undefined ? this.specs : this.specs.filter((s) => s.id !== avoid);
    return this.sessionPicker.pick(specs) ?? specs[0] ?? this.specs[0];
  }
}

/** Why a backend added at run time refuses a reload that changes its server, and what the operator can do about it. */
function misfit(server: string, spec: BackendSpec, why: string): string {
  const origin = spec.runtime!.origin;
  const remove = `DELETE /admin/servers/${server}/backends/${spec.id}`;
  const by = origin.by === 'discovery' ? `discovery: container ${origin.container}` : origin.by;
  const fix = origin.by === 'discovery' ? `stop container ${origin.container} (or ${remove})` : remove;
  return `servers.${server}: backend "${spec.id}", added at run time (${by}), does not fit the new settings: ${why}; ${fix} first, or change the server so that it fits`;
}
