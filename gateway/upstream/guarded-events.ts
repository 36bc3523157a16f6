/**
 * The event stream of a legacy SSE upstream, read by the gateway itself: decoded incrementally
 * (sse-decoder.ts: linear in what arrives, an event past maxMessageBytes dropped without being
 * kept), and each message event parsed by the one frame parser (frames.ts) within the server's
 * `limits`, as every other transport's messages are. The SDK's SSE client transport, which keeps
 * the stream open and POSTs to the endpoint it announces, gets only the other events (the
 * endpoint): its own parser would hold any event however long, and its strict schemas refuse a
 * message with a field MCP does not name, so such a server's answers never arrived. A response
 * over a limit becomes an error response under its id, naming the server, so the call it answers
 * fails at once and the connection stays; anything else refused is dropped and reported.
 */
import { FleetError } from '../protocol/errors';
import { answerForRefused, parseMessage, prunedItems } from '../protocol/frames';
import { jsonLimitsOf, type MessageLimits } from '../protocol/json-limits';
import type { JsonRpcMessage } from '../protocol/jsonrpc';
import { SseDecoder, type SseEvent } from './sse-decoder';

export interface GuardedEventsHandlers {
  /** A message the server sent, or the error answer that replaces a response refused for its limits. */
  message(message: JsonRpcMessage): void;
  /** What was refused or left out, for the log. */
  refused(err: FleetError): void;
}

export function guardedEvents(
  body: ReadableStream<Uint8Array>,
  limits: MessageLimits,
  peer: string,
  handlers: GuardedEventsHandlers,
): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  const json = jsonLimitsOf(limits);
  let out!: TransformStreamDefaultController<Uint8Array>;
  const passOn = (event: SseEvent) => {
    const lines = [`event: ${event.event}`, ...(event.id !== undefined ? [`id: ${event.id}`] : []), ...event.data.split(/\r\n|\r|\n/).map((l) => `data: ${l}`)];
    out.enqueue(encoder.encode(`${lines.join('\n')}\n\n`));
  };
  const decoder = new SseDecoder(
    (event) => {
      if (event.event !== 'message') return passOn(event);
      const parsed = parseMessage(event.data, 'event', json);
      if (parsed.ok) {
        if (parsed.dropped) handlers.refused(prunedItems(peer, parsed.dropped));
        return handlers.message(parsed.message);
      }
      handlers.refused(new FleetError('UPSTREAM_BAD_MESSAGE', `${peer} sent a message the gateway refuses: ${parsed.error.message}`));
      const answer = answerForRefused(parsed, peer);
      if (answer) handlers.message(answer);
    },
    {
      maxEventChars: limits.maxMessageBytes,
      oversized: (max) =>
        handlers.refused(
          new FleetError('UPSTREAM_BAD_MESSAGE', `${peer} sent an event longer than its limit of ${max} characters (limits.maxMessageBytes); dropped`),
        ),
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
