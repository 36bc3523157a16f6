/**
 * Writing a message as JSON for the wire. JSON.stringify recurses, so a message nested deeper than
 * the stack allows cannot be written; that is a fault of the one message (UNSERIALIZABLE), never of
 * the transport it was going to, which must stay up for everyone else's messages.
 */
import { FleetError } from './errors';
import type { JsonRpcMessage } from './jsonrpc';

export function encodeJson(message: JsonRpcMessage): string {
  try {
    return JSON.stringify(message);
  } catch (err) {
    throw unserializable(err);
  }
}

/** The error for a message JSON.stringify gave up on (a RangeError from a transport that serializes itself). */
export function unserializable(err: unknown): FleetError {
  return new FleetError('UNSERIALIZABLE', `the message cannot be written as JSON (${(err as Error).message})`, { cause: err });
}
