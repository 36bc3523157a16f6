/**
 * The gateway's side of the initialize handshake: the protocol version it agrees to (the client's
 * when supported, else the latest, as the spec says) and what it declares. It declares every
 * capability the merged fleet can have, since servers come and go while the session lasts; only
 * tasks are declared as far as the servers connected now offer them (`tasks`), since a client that
 * sees the capability may augment calls with tasks and expects them to work.
 */
import { LATEST_PROTOCOL_VERSION, SUPPORTED_PROTOCOL_VERSIONS } from '@modelcontextprotocol/sdk/types.js';

export function negotiateVersion(requested: string): string {
  return SUPPORTED_PROTOCOL_VERSIONS.includes(requested) ? requested : LATEST_PROTOCOL_VERSION;
}

export function initializeResult(
  protocolVersion: string,
  serverInfo: { name: string; version: string },
  instructions: string,
  tasks?: Record<string, unknown>,
): Record<string, unknown> {
  return {
    protocolVersion,
    capabilities: {
      tools: { listChanged: true },
      prompts: { listChanged: true },
      resources: { subscribe: true, listChanged: true },
      logging: {},
      completions: {},
      ...(tasks ? { tasks } : {}),
    },
    serverInfo,
    ...(instructions ? { instructions } : {}),
  };
}
