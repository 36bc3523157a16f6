/**
 * service-discovery: a server registered with the running gateway through its admin API becomes
 * resolvable at once — its tools are listed under the names the gateway reports for it (its
 * prefix, made spec-safe) and answer — and is gone again once deregistered. The probe server is params.register ({ name, …one servers entry }), by default a
 * second name for the stack's memory bridge, so the check adds nothing the stack lacks.
 */
import type { Tool } from '@modelcontextprotocol/sdk/types.js';
import type { StepInput, StepResult } from '../pipeline/types';
import { AdminApi } from './admin';
import { upstreamToken } from './credentials';
import { connect, needsNoArguments } from './gateway';
import { failure, pause } from './runtime';

/** The stack's memory bridge under a second name; it takes the gateway's upstream key, as the configured entry sends it. */
function defaultRegistration(): Record<string, unknown> {
  const token = upstreamToken();
  return { name: 'discovery-probe', url: 'http://memory:8080/mcp', ...(token ? { headers: { Authorization: `Bearer ${token}` } } : {}) };
}

export async function registerServer(input: StepInput): Promise<StepResult> {
  const spec = (input.params.register as Record<string, unknown> | undefined) ?? defaultRegistration();
  const name = spec.name;
  if (typeof name !== 'string' || !name) throw failure('BAD_INPUT', 'params.register needs a name (and the fields of one servers entry)');
  const api = await AdminApi.of(input);
  if ((await api.servers()).servers.some((s) => s.name === name))
    throw failure('BAD_INPUT', `the gateway already has a server ${name}; pass params.register with another name`);
  const session = await connect(api.base, 'streamable-http', 'mcp-fleet-discovery');
  try {
    const registered = await api.addServer(spec);
    const details: Record<string, unknown> = { server: name, state: registered.state };
    let tools: Tool[] = [];
    try {
      // the gateway announces the new tools with list_changed; listing again sees them
      for (let i = 0; i < 20 && tools.length === 0; i++) {
        const exposed = new Set((await api.server(name)).tools);
        tools = (await session.client.listTools()).tools.filter((t) => exposed.has(t.name));
        if (tools.length === 0) await pause(250, `waiting for ${name}'s tools`);
      }
      details.tools = tools.length;
      if (tools.length === 0)
        return {
          outcome: 'failed',
          summary: `registered ${name} (state ${registered.state}), but the gateway lists none of its tools; see the gateway log`,
          details,
        };
      const callable = tools.find(needsNoArguments);
      if (callable) {
        const r = await session.client.callTool({ name: callable.name, arguments: {} });
        details.called = callable.name;
        if (r.isError)
          return { outcome: 'failed', summary: `registered ${name}: ${tools.length} tools listed, but ${callable.name} answered with an error`, details };
      }
    } finally {
      await api.removeServer(name);
    }
    const gone = new Set(tools.map((t) => t.name));
    const after = (await session.client.listTools()).tools.filter((t) => gone.has(t.name)).length;
    details.toolsAfterRemoval = after;
    if (after > 0) return { outcome: 'failed', summary: `deregistered ${name}, but the gateway still lists ${after} of its tools`, details };
    return {
      outcome: 'passed',
      summary: `registered ${name} at runtime: ${details.tools} tools resolved${details.called ? `, ${details.called} answered` : ''}; deregistered, its tools gone`,
      details,
    };
  } finally {
    await session.close();
  }
}
