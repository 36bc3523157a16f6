/**
 * Every raw JSON-RPC message a test client receives, before the SDK's schemas parse (and strip)
 * them: tests assert on exact progress tokens, ids and notification params, and on what never came.
 */
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';

export class Inbox {
  readonly messages: any[] = [];

  /** A `setup` hook for connectClient: records from the first message on (the SDK chains our onmessage before its own). */
  readonly attach = (client: Client): void => {
    const connect = client.connect.bind(client);
    client.connect = (transport: Transport, options) => {
      transport.onmessage = (message) => void this.messages.push(message);
      return connect(transport, options);
    };
  };

  /** Params of every notification with this method, in arrival order. */
  notifications(method: string): any[] {
    return this.messages.filter((m) => m.method === method && m.id === undefined).map((m) => m.params ?? {});
  }

  /** Requests the server side sent to this client, in arrival order. */
  requests(method: string): any[] {
    return this.messages.filter((m) => m.method === method && m.id !== undefined);
  }

  /** Responses (results or errors) with this id. */
  responsesTo(id: string | number): any[] {
    return this.messages.filter((m) => m.method === undefined && m.id === id);
  }
}
