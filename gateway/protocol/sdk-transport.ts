/**
 * The one place where the SDK's Transport meets the gateway's MessageTransport, in both
 * directions: the SDK's legacy SSE transports serve the gateway, and tests hand the gateway's
 * transports to SDK servers and clients. The SDK types messages with its own schemas; the wire
 * carries the same JSON, so the conversion is a change of static type only.
 */
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { unserializable } from './encode';
import type { JsonRpcMessage } from './jsonrpc';
import type { MessageTransport } from './transport';

/** An SDK transport as a MessageTransport; its callbacks are wired at `start()`. */
export function fromSdkTransport(sdk: Transport): MessageTransport {
  const adapted: MessageTransport = {
    start: () => {
      sdk.onmessage = (m) => adapted.onmessage?.(m as unknown as JsonRpcMessage);
      sdk.onerror = (err) => adapted.onerror?.(err);
      sdk.onclose = () => adapted.onclose?.();
      return sdk.start();
    },
    // The SDK writes the JSON itself; a RangeError from it is JSON.stringify's stack overflow.
    send: (message) =>
      sdk.send(message as unknown as JSONRPCMessage).catch((err: unknown) => Promise.reject(err instanceof RangeError ? unserializable(err) : err)),
    close: () => sdk.close(),
    setProtocolVersion: sdk.setProtocolVersion ? (v) => sdk.setProtocolVersion!(v) : undefined,
  };
  return adapted;
}

/** A MessageTransport as an SDK transport, for an SDK Client or Server to use. */
export function toSdkTransport(transport: MessageTransport): Transport {
  const adapted: Transport = {
    start: () => {
      transport.onmessage = (m) => adapted.onmessage?.(m as unknown as JSONRPCMessage);
      transport.onerror = (err) => adapted.onerror?.(err);
      transport.onclose = () => adapted.onclose?.();
      return transport.start();
    },
    send: (message) => transport.send(message as unknown as JsonRpcMessage),
    close: () => transport.close(),
    setProtocolVersion: transport.setProtocolVersion ? (v) => transport.setProtocolVersion!(v) : undefined,
  };
  return adapted;
}
