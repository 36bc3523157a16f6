/**
 * Splits a byte stream into newline-delimited JSON-RPC messages (the stdio framing). A line that is
 * not a JSON-RPC message is reported, not thrown, so one bad line never ends the stream.
 */
import { envelopeProblem, type JsonRpcMessage } from './jsonrpc';

export interface LineDecoderHandlers {
  message(m: JsonRpcMessage): void;
  garbage(line: string, problem: string): void;
}

export class LineDecoder {
  private buffered = '';

  constructor(private readonly handlers: LineDecoderHandlers) {}

  push(chunk: Buffer | string): void {
    this.buffered += typeof chunk === 'string' ? chunk : chunk.toString('utf8');
    let nl: number;
    while ((nl = this.buffered.indexOf('\n')) !== -1) {
      const line = this.buffered.slice(0, nl).replace(/\r$/, '');
      this.buffered = this.buffered.slice(nl + 1);
      if (line.trim().length > 0) this.decode(line);
    }
  }

  private decode(line: string): void {
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      this.handlers.garbage(line, 'not JSON');
      return;
    }
    const problem = envelopeProblem(value);
    if (problem) this.handlers.garbage(line, problem);
    else this.handlers.message(value as JsonRpcMessage);
  }
}

export function encodeLine(message: JsonRpcMessage): string {
  return JSON.stringify(message) + '\n';
}
