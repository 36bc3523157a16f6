/**
 * Raw JSON-RPC 2.0 messages as the gateway relays them. The gateway forwards messages as
 * received instead of re-parsing them through the SDK's typed schemas, which drop unknown fields.
 */

export type RequestId = string | number;

export interface JsonRpcRequest {
  jsonrpc: '2.0';
  id: RequestId;
  method: string;
  params?: Record<string, unknown>;
  [extra: string]: unknown;
}

export interface JsonRpcNotification {
  jsonrpc: '2.0';
  method: string;
  params?: Record<string, unknown>;
  [extra: string]: unknown;
}

export interface JsonRpcErrorObject {
  code: number;
  message: string;
  data?: unknown;
}

export interface JsonRpcResult {
  jsonrpc: '2.0';
  id: RequestId;
  result: Record<string, unknown>;
}

export interface JsonRpcErrorResponse {
  jsonrpc: '2.0';
  id: RequestId | null;
  error: JsonRpcErrorObject;
}

export type JsonRpcResponse = JsonRpcResult | JsonRpcErrorResponse;
export type JsonRpcMessage = JsonRpcRequest | JsonRpcNotification | JsonRpcResponse;

export function isRequest(m: JsonRpcMessage): m is JsonRpcRequest {
  return 'method' in m && 'id' in m && m.id !== undefined && m.id !== null;
}

export function isNotification(m: JsonRpcMessage): m is JsonRpcNotification {
  return 'method' in m && !('id' in m && m.id !== undefined && m.id !== null);
}

export function isResponse(m: JsonRpcMessage): m is JsonRpcResponse {
  return !('method' in m) && ('result' in m || 'error' in m);
}

export function isErrorResponse(m: JsonRpcMessage): m is JsonRpcErrorResponse {
  return isResponse(m) && 'error' in m;
}

export function errorResponse(id: RequestId | null, error: JsonRpcErrorObject): JsonRpcErrorResponse {
  return { jsonrpc: '2.0', id, error };
}

export function resultResponse(id: RequestId, result: Record<string, unknown>): JsonRpcResult {
  return { jsonrpc: '2.0', id, result };
}

/**
 * Checks the JSON-RPC envelope of a parsed value and names what is wrong, so a front can answer
 * -32600 with a useful message. Returns undefined when the value is a valid message.
 */
export function envelopeProblem(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'a JSON-RPC message must be a JSON object';
  const m = value as Record<string, unknown>;
  if (m.jsonrpc !== '2.0') return `"jsonrpc" must be "2.0" (got ${JSON.stringify(m.jsonrpc)})`;
  const hasId = 'id' in m && m.id !== undefined;
  if (hasId && m.id !== null && typeof m.id !== 'string' && typeof m.id !== 'number') return '"id" must be a string or a number';
  if ('method' in m) {
    if (typeof m.method !== 'string' || m.method.length === 0) return '"method" must be a non-empty string';
    if ('params' in m && m.params !== undefined && (typeof m.params !== 'object' || m.params === null || Array.isArray(m.params))) {
      return '"params" must be an object';
    }
    return undefined;
  }
  if (!hasId) return 'a message needs "method" (request or notification) or "id" with "result"/"error" (response)';
  if (!('result' in m) && !('error' in m)) return 'a response needs "result" or "error"';
  return undefined;
}
