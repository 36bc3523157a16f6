/**
 * Per-tool authorization: the config's `policy` rules, in order, decide what a principal may use.
 * A rule matches a principal (by id, role or scope patterns) and a target (a server, and a tool or
 * prompt by the server's own name, or a resource by URI); the first rule that matches both
 * decides, else the default. An allow rule may also require scopes, which a principal without them
 * can obtain (403 insufficient_scope): such a tool stays listed so the client can step up.
 *
 * Patterns are compiled once, when the policy is built or replaced (a config reload); a decision
 * costs one pass over the rules. A replacement is one assignment, so every decision sees either the
 * old rules or the new ones, never a mix.
 */
import type { MatchFields, PolicyRule, PolicySettings } from '../config/auth-schema';
import type { Want } from '../servers/lists';
import type { Principal } from './principal';
import { compileAny } from './patterns';

export type TargetKind = 'tool' | 'prompt' | 'resource';

export interface Target {
  server: string;
  kind: TargetKind;
  /** The server's own tool or prompt name, or the resource URI (or template). */
  name: string;
}

export interface Decision {
  allowed: boolean;
  /** The rule that decided, by its name, or `default`. */
  rule: string;
  /** Allowed, given these scopes the principal lacks. */
  missingScopes?: string[];
}

type Test = ((name: string) => boolean) | undefined;

/** Whether a rule's who and what (its MatchFields) take in a principal's request for a target. */
export type Matcher = (principal: Principal, target: Target) => boolean;

interface CompiledRule {
  name: string;
  allow: boolean;
  matches: Matcher;
  requireScopes: readonly string[];
}

interface CompiledPolicy {
  rules: CompiledRule[];
  defaultAllow: boolean;
}

export class Policy {
  private compiled: CompiledPolicy;
  /** Counts replacements: what was derived from the rules (filtered lists) is stale once it moves. */
  private version = 0;

  constructor(settings: PolicySettings) {
    this.compiled = compilePolicy(settings);
  }

  /** Takes new rules (a config reload): the next decision uses them. */
  replace(settings: PolicySettings): void {
    this.compiled = compilePolicy(settings);
    this.version++;
  }

  /** Changes whenever the rules were replaced. */
  get generation(): number {
    return this.version;
  }

  /** No rule and a default allow: everything is allowed, and nothing needs to be asked. */
  get open(): boolean {
    return this.compiled.rules.length === 0 && this.compiled.defaultAllow;
  }

  /** Every scope some rule requires (advertised in the resource metadata). */
  get requiredScopes(): string[] {
    return [...new Set(this.compiled.rules.flatMap((r) => r.requireScopes))];
  }

  decide(principal: Principal, target: Target): Decision {
    const { rules, defaultAllow } = this.compiled;
    for (const rule of rules) {
      if (!rule.matches(principal, target)) continue;
      if (!rule.allow) return { allowed: false, rule: rule.name };
      const missing = rule.requireScopes.filter((s) => !principal.scopes.includes(s));
      return missing.length > 0 ? { allowed: true, rule: rule.name, missingScopes: missing } : { allowed: true, rule: rule.name };
    }
    return { allowed: defaultAllow, rule: 'default' };
  }

  /** Whether `target` appears in the principal's lists: allowed outright, or allowed once it has more scopes. */
  lists(principal: Principal, target: Target): boolean {
    return this.open || this.decide(principal, target).allowed;
  }

  /**
   * Whether the policy's answer can differ between two principals with these traits: lists are
   * cached per principal key, and principals with the same id, roles and scopes see the same.
   */
  static key(principal: Principal): string {
    return `${principal.id}\u0000${principal.roles.join(' ')}\u0000${principal.scopes.join(' ')}`;
  }
}

function compilePolicy(settings: PolicySettings): CompiledPolicy {
  return { rules: settings.rules.map(compileRule), defaultAllow: settings.default === 'allow' };
}

function compileRule(rule: PolicyRule, i: number): CompiledRule {
  return { name: rule.name ?? `rules[${i}]`, allow: rule.effect === 'allow', matches: compileMatcher(rule), requireScopes: rule.requireScopes ?? [] };
}

/** A rule's who and what, compiled once: a request matches when every list the rule gives does. */
export function compileMatcher(fields: MatchFields): Matcher {
  const named = fields.tools !== undefined || fields.prompts !== undefined || fields.resources !== undefined;
  // per kind: undefined when the rule names no kind (it then covers every kind), null when it names others only
  const forKind = (patterns: string[] | undefined): Test | null => (patterns !== undefined ? compileAny(patterns) : named ? null : undefined);
  const principals = compileAny(fields.principals);
  const roles = compileAny(fields.roles);
  const scopes = compileAny(fields.scopes);
  const servers = compileAny(fields.servers);
  const names: Record<TargetKind, Test | null> = { tool: forKind(fields.tools), prompt: forKind(fields.prompts), resource: forKind(fields.resources) };
  return (p, t) => {
    if (principals && !principals(p.id)) return false;
    if (roles && !p.roles.some(roles)) return false;
    if (scopes && !p.scopes.some(scopes)) return false;
    if (servers && !servers(t.server)) return false;
    const test = names[t.kind];
    if (test === null) return false;
    return test === undefined || test(t.name);
  };
}

/** What the rules speak of: the server's own name of a tool or prompt (routing mapped it back), or the URI; nothing for a call that names none. */
export function targetOf(server: string, want: Want): Target | undefined {
  if (want.kind === 'tool' || want.kind === 'prompt') return { server, kind: want.kind, name: want.name };
  if (want.kind === 'resource') return { server, kind: 'resource', name: want.uri };
  return undefined;
}
