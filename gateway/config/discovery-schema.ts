/**
 * The `discovery` part of the gateway config: where the gateway looks for MCP servers by itself.
 * `docker`: containers labelled as MCP servers on the watched networks join when they are healthy
 * and leave when they stop (gateway/discovery/). What a label cannot carry (credentials, health
 * check and restart settings) comes from `defaults`, one `servers:` entry's fields for every
 * server found; load.ts checks it as a server entry, so that a bad field fails at load, not later.
 */
import { z } from 'zod';

export const dockerDiscoverySchema = z
  .object({
    /** Only containers attached to one of these networks are looked at; their address is taken on it. */
    networks: z.array(z.string().min(1)).min(1, 'name at least one Docker network to watch'),
    /** Labels are `<labelPrefix>.server`, `<labelPrefix>.port`, …: see README's discovery section. */
    labelPrefix: z
      .string()
      .regex(/^[a-z0-9][a-z0-9.-]{0,62}$/, 'use lower-case letters, digits, . and -')
      .default('mcp-fleet'),
    /**
     * How the gateway reaches a container: its IP address on the watched network (ip, for a gateway
     * outside Docker), or its name through Docker's DNS (name, for a gateway on that network).
     */
    address: z.enum(['ip', 'name']).default('ip'),
    /** Fields every discovered server gets (headers, healthCheck, restart, requestTimeoutMs…), before its labels. */
    defaults: z.record(z.string(), z.unknown()).default({}),
  })
  .strict()
  .superRefine((d, ctx) => {
    for (const field of LABELLED_FIELDS)
      if (field in d.defaults) ctx.addIssue({ code: 'custom', path: ['defaults', field], message: `${field} comes from each container's labels` });
  });

/** The server fields a container's labels give (the address makes `url`). */
export const LABELLED_FIELDS = ['url', 'transport', 'prefix', 'mode', 'protocol'] as const;

export type DockerDiscoverySettings = z.infer<typeof dockerDiscoverySchema>;

export const discoverySchema = z.object({ docker: dockerDiscoverySchema.optional() }).strict();
