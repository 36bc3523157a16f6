/**
 * Per-tool authorization: the config's `policy` rules, in order, decide what a principal may use.
 * A rule matches a principal (by id, role or scope patterns) and a target (a server, and a tool or
 * prompt by the server's own name, or a resource by URI); the first rule that matches both
 * decides, else the default. An allow rule may also require scopes, which a principal without them
 * can obtain (403 insufficient_scope): such a tool stays listed so the client can step up.
 *
 * Patterns are compiled once, when the policy is built; a decision costs one pass over the rules.
 */
import type { PolicyRule, PolicySettings } from '../config/auth-schema';
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

interface CompiledRule {
  name: string;
  allow: boolean;
  principals: Test;
  roles: Test;
  scopes: Test;
  servers: Test;
  /** Per kind: undefined when the rule names no kind (it then covers every kind), null when it names others only. */
  names: Record<TargetKind, Test | null>;
  requireScopes: readonly string[];
}

export class Policy {
  private readonly rules: CompiledRule[];
  private readonly defaultAllow: boolean;

  constructor(settings: PolicySettings) {
    this.rules = settings.rules.map(compileRule);
    this.defaultAllow = settings.default === 'allow';
  }

  /** No rule and a default allow: everything is allowed, and nothing needs to be asked. */
  get open(): boolean {
    return this.rules.length === 0 && this.defaultAllow;
  }

  /** Every scope some rule requires (advertised in the resource metadata). */
  get requiredScopes(): string[] {
    return [...new Set(this.rules.flatMap((r) => r.requireScopes))];
  }

  decide(principal: Principal, target: Target): Decision {
    for (const rule of this.rules) {
      if (!matchesPrincipal(rule, principal) || !matchesTarget(rule, target)) continue;
      if (!rule.allow) return { allowed: false, rule: rule.name };
      const missing = rule.requireScopes.filter((s) => !principal.scopes.includes(s));
      return missing.length > 0 ? { allowed: true, rule: rule.name, missingScopes: missing } : { allowed: true, rule: rule.name };
    }
    return { allowed: this.defaultAllow, rule: 'default' };
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

function compileRule(rule: PolicyRule, i: number): CompiledRule {
  const named = rule.tools !== undefined || rule.prompts !== undefined || rule.resources !== undefined;
  const forKind = (patterns: string[] | undefined): Test | null => (patterns !== undefined ? compileAny(patterns) : named ? null : undefined);
  return {
    name: rule.name ?? `rules[${i}]`,
    allow: rule.effect === 'allow',
    principals: compileAny(rule.principals),
    roles: compileAny(rule.roles),
    scopes: compileAny(rule.scopes),
    servers: compileAny(rule.servers),
    names: { tool: forKind(rule.tools), prompt: forKind(rule.prompts), resource: forKind(rule.resources) },
    requireScopes: rule.requireScopes ?? [],
  };
}

function matchesPrincipal(rule: CompiledRule, p: Principal): boolean {
  if (rule.principals && !rule.principals(p.id)) return false;
  if (rule.roles && !p.roles.some(rule.roles)) return false;
  if (rule.scopes && !p.scopes.some(rule.scopes)) return false;
  return true;
}

function matchesTarget(rule: CompiledRule, t: Target): boolean {
  if (rule.servers && !rule.servers(t.server)) return false;
  const names = rule.names[t.kind];
  if (names === null) return false;
  return names === undefined || names(t.name);
}
