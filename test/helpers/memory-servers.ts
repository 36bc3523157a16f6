/**
 * Small SDK servers and test plumbing for the in-memory gateway (memory-gateway.ts): servers that
 * say who answered (server, backend, connection attempt), so a test sees where a call went.
 */
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { ServerOptions } from '@modelcontextprotocol/sdk/server/index.js';
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import type { MemoryGateway } from './memory-gateway';
import { waitFor } from './wait';

/** A promise with its resolve at hand, for a test to release a server handler or to hear from one. */
export function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

/** A meeting point: each call waits until `n` callers are waiting, then all go on (two calls at the upstream at once). */
export function barrier(n: number): () => Promise<void> {
  let waiting: (() => void)[] = [];
  return () =>
    new Promise<void>((resolve) => {
      waiting.push(resolve);
      if (waiting.length < n) return;
      for (const go of waiting) go();
      waiting = [];
    });
}

/** The text of a tool result's first content item. */
export function textOf(result: unknown): string {
  return (result as { content: { text: string }[] }).content[0].text;
}

/**
 * A server whose `whoami` tool answers `label` and whose `echo` tool answers its message: the
 * label names the server (and backend, or attempt) that served a call.
 */
export function whoamiServer(label: string, name = label, options?: ServerOptions): McpServer {
  const server = new McpServer({ name, version: '1.0.0' }, options);
  server.registerTool('whoami', {}, async () => ({ content: [{ type: 'text', text: label }] }));
  server.registerTool('echo', { inputSchema: { message: z.string() } }, async ({ message }) => ({ content: [{ type: 'text', text: message }] }));
  return server;
}

/** A server whose tools (no arguments) answer `<tool> done` and note in `reached` each call that got to them. */
export function reachedServer(tools: readonly string[], reached: string[]): McpServer {
  const server = new McpServer({ name: 'reached', version: '1.0.0' });
  for (const tool of tools)
    server.registerTool(tool, {}, async () => {
      reached.push(tool);
      return { content: [{ type: 'text', text: `${tool} done` }] };
    });
  return server;
}

/** A factory whose every connection attempt is a new server labelled `name#attempt`, so a reconnect or a new session shows. */
export function countingFactory(name: string): { factory: () => McpServer; servers: McpServer[] } {
  const servers: McpServer[] = [];
  return {
    servers,
    factory: () => {
      const server = whoamiServer(`${name}#${servers.length + 1}`, name);
      servers.push(server);
      return server;
    },
  };
}

/** Calls a tool through the gateway and returns the text it answered. */
export async function callText(client: Client, name: string, args: Record<string, unknown> = {}): Promise<string> {
  return textOf(await client.callTool({ name, arguments: args }));
}

/** The error a client request failed with, as the SDK client surfaces it (code, message, data). */
export async function rejection(request: Promise<unknown>): Promise<McpError> {
  try {
    await request;
  } catch (err) {
    if (err instanceof McpError) return err;
    throw err;
  }
  throw new Error('expected the request to fail, and it succeeded');
}

/** Waits until the gateway logged at least `n` lines with this message, and returns them all. */
export function logLines(gw: MemoryGateway, msg: string, n: number): Promise<Record<string, unknown>[]> {
  return waitFor(
    () => {
      const lines = gw.logs.filter((l) => l.msg === msg);
      return lines.length >= n ? lines : undefined;
    },
    `${n} "${msg}" log lines`,
    5_000,
    5,
  );
}
