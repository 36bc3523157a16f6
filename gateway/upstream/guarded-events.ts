/**
 * The event stream of a legacy SSE upstream, passed on event by event only once each event is
 * within the server's `limits`, for the SDK's SSE client transport (which would otherwise hold any
 * event however long, and parse any message however deep). Decoded incrementally (sse-decoder.ts:
 * linear in what arrives, an event past maxMessageBytes dropped without being kept), each message
 * is scanned (json-limits.ts) before anything parses it. A response that passes a limit reaches
 * the SDK as an error response under its id, naming the server, so the call it answers fails at
 * once and the connection stays; anything else over a limit is dropped and reported.
 */
import { FleetError } from '../protocol/errors';
import { errorResponse } from '../protocol/jsonrpc';
import { jsonLimitsOf, scanJson, type MessageLimits } from '../protocol/json-limits';
import { SseDecoder, type SseEvent } from './sse-decoder';

export function guardedEvents(
  body: ReadableStream<Uint8Array>,
  limits: MessageLimits,
  peer: string,
  refused: (err: FleetError) => void,
): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  const json = jsonLimitsOf(limits);
  let out!: TransformStreamDefaultController<Uint8Array>;
  const emit = (event: SseEvent, data: string) => {
    const lines = [`event: ${event.event}`, ...(event.id !== undefined ? [`id: ${event.id}`] : []), ...data.split(/\r\n|\r|\n/).map((l) => `data: ${l}`)];
    out.enqueue(encoder.encode(`${lines.join('\n')}\n\n`));
  };
  const decoder = new SseDecoder(
    (event) => {
      if (event.event !== 'message') return emit(event, event.data);
      const scan = scanJson(event.data, json);
      if (scan.problem === undefined) return emit(event, event.data);
      const error = new FleetError('UPSTREAM_BAD_MESSAGE', `${peer} sent a message the gateway refuses: ${scan.problem}`);
      refused(error);
      if (!scan.hasMethod && scan.id !== null) emit(event, JSON.stringify(errorResponse(scan.id, error.toJsonRpcError())));
    },
    {
      maxEventChars: limits.maxMessageBytes,
      oversized: (max) =>
        refused(new FleetError('UPSTREAM_BAD_MESSAGE', `${peer} sent an event longer than its limit of ${max} characters (limits.maxMessageBytes); dropped`)),
    },
  );
  return body.pipeThrough(new TextDecoderStream()).pipeThrough(
    new TransformStream<string, Uint8Array>({
      start: (controller) => {
        out = controller;
      },
      transform: (chunk) => decoder.push(chunk),
    }),
  );
}
