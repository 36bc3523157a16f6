/**
 * The client-authentication and authorization parts of the gateway config: who may connect
 * (`auth`: OAuth 2.1 bearer tokens, API keys, client certificates, or explicitly nobody) and what
 * each principal may use (`policy`). Validated here once, like the rest of the config.
 */
import { z } from 'zod';

/** An OAuth scope token (RFC 6749 §3.3: printable ASCII without space, quote or backslash). */
const scope = z.string().regex(/^[\x21\x23-\x5b\x5d-\x7e]+$/, 'a scope is printable ASCII without spaces, quotes or backslashes');
const name = z.string().regex(/^[A-Za-z0-9_.@:-]{1,128}$/, 'use 1-128 of A-Z a-z 0-9 _ . @ : -');

export const oauthSchema = z
  .object({
    /** The authorization server whose tokens the gateway takes (the `iss` they must carry). */
    issuer: z.url(),
    /** Default: the issuer's metadata (RFC 8414, else OpenID discovery) names it. */
    jwksUri: z.url().optional(),
    /** The `aud` tokens must carry; default: `auth.resource` (RFC 8707: tokens are issued for this gateway). */
    audience: z.string().min(1).optional(),
    /** Scopes every request needs; a token without them gets 403 insufficient_scope. */
    requiredScopes: z.array(scope).default([]),
    /** Scopes the protected resource metadata advertises (default: the required ones and those policy rules require). */
    scopesSupported: z.array(scope).optional(),
    /**
     * A token signed with a key the cached JWKS lacks makes the gateway fetch the JWKS again (the
     * issuer rotated its keys), at most once per this many seconds, so made-up kids cannot make it
     * hammer the issuer.
     */
    jwksRefreshCooldownSec: z.number().int().min(0).max(3600).default(30),
    /** Tolerated clock difference for exp and nbf. */
    clockSkewSec: z.number().int().min(0).max(600).default(30),
    /** Signature algorithms taken; `none` and HMAC ones never (an HMAC key would have to be shared with every resource server). */
    algorithms: z
      .array(z.enum(['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA']))
      .default(['RS256', 'PS256', 'ES256', 'EdDSA']),
    /** The claim holding the principal's roles (an array of strings, or a space-separated string). */
    rolesClaim: z.string().min(1).default('roles'),
    /** RFC 7662 token introspection, for access tokens that are not JWTs. */
    introspection: z
      .object({
        url: z.url(),
        clientId: z.string().min(1),
        clientSecret: z.string().min(1),
        /** How long an active answer is reused (never past the token's exp). */
        cacheSec: z.number().int().min(0).max(3600).default(60),
      })
      .strict()
      .optional(),
  })
  .strict();

export const apiKeySchema = z
  .object({
    /** Names the principal (`api-key:NAME`); a rotated key keeps its name. */
    name,
    /** `sha256:` and the hex SHA-256 of the key: the key itself need not be stored anywhere (`mcp-gateway hash-key` prints it). */
    hash: z
      .string()
      .regex(/^sha256:[0-9a-f]{64}$/, 'expected sha256: and 64 lowercase hex digits (the SHA-256 of the key)')
      .optional(),
    /** The key itself, for keys that come from a secret (`${CLIENT_API_KEY}`): hashed at load, never kept. */
    key: z.string().min(32, 'an API key needs at least 32 characters (`openssl rand -base64 32`)').optional(),
    scopes: z.array(scope).default([]),
    roles: z.array(name).default([]),
    expiresAt: z.iso.datetime({ offset: true }).optional(),
  })
  .strict()
  .refine((k) => (k.hash === undefined) !== (k.key === undefined), 'give the key as hash (sha256:...) or as key (from a secret), not both');

export const apiKeysSchema = z
  .object({
    keys: z.array(apiKeySchema).default([]),
    /**
     * A file of keys (YAML or JSON: `keys: [...]` as above) the gateway reads at start and again when
     * it changes, and where keys added, rotated or revoked through the admin API are written.
     */
    file: z.string().min(1).optional(),
  })
  .strict();

export const mtlsSchema = z
  .object({
    /** Roles and scopes for client certificates, by subject or SAN pattern (`*` matches any run of characters). */
    principals: z.array(z.object({ match: z.string().min(1), roles: z.array(name).default([]), scopes: z.array(scope).default([]) }).strict()).default([]),
  })
  .strict();

export const authMethodsSchema = z
  .object({
    /**
     * The canonical URI of this gateway's MCP endpoint (RFC 8707/9728), e.g. https://mcp.example.com/mcp:
     * the audience of its tokens and the `resource` of its metadata. Required with oauth.
     */
    resource: z.url().optional(),
    oauth: oauthSchema.optional(),
    apiKeys: apiKeysSchema.optional(),
    mtls: mtlsSchema.optional(),
  })
  .strict()
  .refine((a) => a.oauth || a.apiKeys || a.mtls, 'name at least one of oauth, apiKeys, mtls (or write auth: none to let anyone in)')
  .refine((a) => !a.oauth || a.resource, {
    message: 'oauth needs auth.resource, the canonical URI of this gateway (its tokens are issued for it)',
    path: ['resource'],
  });

/** `none`: nobody is authenticated, written out so that an open door is a decision. */
export const authSchema = z.union([z.literal('none'), authMethodsSchema]);

export type OAuthSettings = z.infer<typeof oauthSchema>;
export type ApiKeySettings = z.infer<typeof apiKeySchema>;
export type ApiKeysSettings = z.infer<typeof apiKeysSchema>;
export type MtlsSettings = z.infer<typeof mtlsSchema>;
export type AuthMethods = z.infer<typeof authMethodsSchema>;
export type AuthSettings = z.infer<typeof authSchema>;

const patterns = z.array(z.string().min(1)).min(1).optional();

/**
 * Who and what a rule speaks of, as policy and rate-limit rules both write it: each given list
 * matches when any of its patterns does; a rule without a "who" list matches everyone, one naming
 * no tools, prompts or resources every request to its servers.
 */
export const matchFields = {
  // who: the principal's id (`api-key:ci`), or any of its roles or scopes
  principals: patterns,
  roles: patterns,
  scopes: patterns,
  // what: servers by name; tools and prompts by the server's own name, resources by URI
  servers: patterns,
  tools: patterns,
  prompts: patterns,
  resources: patterns,
};

export type MatchFields = { [K in keyof typeof matchFields]?: string[] };

export const policyRuleSchema = z
  .object({
    /** Named in refusals and decision logs; default `rules[N]`. */
    name: z.string().min(1).max(128).optional(),
    effect: z.enum(['allow', 'deny']),
    ...matchFields,
    /** An allow that also needs these scopes: without them, 403 insufficient_scope naming them (the client can step up). */
    requireScopes: z.array(scope).min(1).optional(),
  })
  .strict()
  .refine((r) => r.effect === 'allow' || r.requireScopes === undefined, { message: 'requireScopes belongs to allow rules', path: ['requireScopes'] });

export const policySchema = z
  .object({
    /** What a principal may do that no rule speaks of. */
    default: z.enum(['allow', 'deny']).default('allow'),
    /** In order: the first rule that matches decides. */
    rules: z.array(policyRuleSchema).default([]),
  })
  .strict();

export type PolicyRule = z.infer<typeof policyRuleSchema>;
export type PolicySettings = z.infer<typeof policySchema>;
