/**
 * What the relay's OpenTelemetry spans say about a call: names and attributes after the
 * OpenTelemetry MCP conventions (`{mcp.method.name} {target}`, mcp.method.name, gen_ai.tool.name,
 * mcp.resource.uri, jsonrpc.request.id, error.type), the gateway's own under `mcp_fleet.`, and the
 * call's outcome and error recorded as it ends. Only the API (@opentelemetry/api) is used here:
 * which SDK records the spans, and where they go, is tracing/'s business.
 */
import { SpanStatusCode, type Attributes, type Span } from '@opentelemetry/api';
import { ATTR_ERROR_TYPE } from '@opentelemetry/semantic-conventions';
import type { CallOutcome } from '../metrics/call-stats';
import { toFleetError } from '../protocol/errors';
import type { JsonRpcResponse } from '../protocol/jsonrpc';
import type { Call } from './context';
import { replyOutcome, thrownOutcome } from './outcome';

// Copied from the conventions' incubating set, as their guide asks (those names may still change).
const ATTR_MCP_METHOD_NAME = 'mcp.method.name';
const ATTR_MCP_PROTOCOL_VERSION = 'mcp.protocol.version';
const ATTR_MCP_RESOURCE_URI = 'mcp.resource.uri';
const ATTR_GEN_AI_TOOL_NAME = 'gen_ai.tool.name';
const ATTR_GEN_AI_PROMPT_NAME = 'gen_ai.prompt.name';
const ATTR_JSONRPC_REQUEST_ID = 'jsonrpc.request.id';
const ATTR_RPC_RESPONSE_STATUS_CODE = 'rpc.response.status_code';

export const ATTR_SERVER = 'mcp_fleet.server';
export const ATTR_BACKEND = 'mcp_fleet.backend';
/** The protocol era of the client (on the gateway's span) or of the upstream session (on the upstream request's). */
export const ATTR_ERA = 'mcp_fleet.era';
export const ATTR_OUTCOME = 'mcp_fleet.outcome';

/** `tools/call get_weather`, or the method alone when the call names no tool or prompt (a URI is no span name: too many). */
export function spanName(call: Call): string {
  const want = call.want;
  const target = want?.kind === 'tool' || want?.kind === 'prompt' ? want.name : undefined;
  return target === undefined ? call.request.method : `${call.request.method} ${target}`;
}

/** What every span of the call carries: the method, what it names on its server, and the server. */
export function callAttributes(call: Call): Attributes {
  const attributes: Attributes = {
    [ATTR_MCP_METHOD_NAME]: call.request.method,
    [ATTR_JSONRPC_REQUEST_ID]: String(call.request.id),
  };
  if (call.group) attributes[ATTR_SERVER] = call.group.name;
  const want = call.want;
  if (want?.kind === 'tool') attributes[ATTR_GEN_AI_TOOL_NAME] = want.name;
  else if (want?.kind === 'prompt') attributes[ATTR_GEN_AI_PROMPT_NAME] = want.name;
  else if (want?.kind === 'resource') attributes[ATTR_MCP_RESOURCE_URI] = want.uri;
  return attributes;
}

/** The client's side of the call: its era and protocol version. */
export function clientAttributes(call: Call): Attributes {
  return { [ATTR_ERA]: call.client.era, [ATTR_MCP_PROTOCOL_VERSION]: call.client.protocolVersion };
}

/** Runs the rest of the call inside `span`: its outcome and any error go on the span, which ends with the call. */
export async function withinSpan(span: Span, run: () => Promise<JsonRpcResponse>): Promise<JsonRpcResponse> {
  try {
    const reply = await run();
    const outcome = replyOutcome(reply);
    span.setAttribute(ATTR_OUTCOME, outcome);
    if ('error' in reply) failed(span, String(reply.error.code), reply.error.message, reply.error.code);
    else if (outcome === 'tool_error') failed(span, 'tool_error', 'the tool reported an error (isError)');
    return reply;
  } catch (err) {
    const outcome: CallOutcome = thrownOutcome(err);
    span.setAttribute(ATTR_OUTCOME, outcome);
    // a client's cancellation is no fault of the gateway or the server
    if (outcome === 'error') {
      const fleetError = toFleetError(err);
      span.recordException(fleetError);
      failed(span, fleetError.code, fleetError.message);
    }
    throw err;
  } finally {
    span.end();
  }
}

function failed(span: Span, type: string, message: string, rpcCode?: number): void {
  span.setAttribute(ATTR_ERROR_TYPE, type);
  if (rpcCode !== undefined) span.setAttribute(ATTR_RPC_RESPONSE_STATUS_CODE, String(rpcCode));
  span.setStatus({ code: SpanStatusCode.ERROR, message });
}
