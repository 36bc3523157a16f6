/**
 * A 2026-07-28 client's call to a 2025 server that asked a question (elicitation, sampling, roots)
 * on its session while the call ran. A modern client cannot be asked: it gets an input_required
 * result instead, and its retry carries the answers. Meanwhile the upstream call waits, held here,
 * with the questions it asked; the retry's answers settle them and the call goes on, until the
 * server answers the call or asks again. A held call lives in one gateway instance and expires if
 * the client does not come back.
 */
import { randomUUID } from 'node:crypto';
import { FleetError } from '../protocol/errors';
import { errorResponse, resultResponse, type JsonRpcRequest, type JsonRpcResponse, type RequestId } from '../protocol/jsonrpc';
import type { UpstreamConnection } from '../upstream/connection';
import type { ClientPeer } from './clients';
import type { LogLevel } from './log-levels';

/** How long the questions of one round may keep coming before the client is asked them all at once. */
const ROUND_GATHER_MS = 25;

/** A question asked in a round, as the client sees it in inputRequests. */
export interface InputRequest {
  method: string;
  params?: Record<string, unknown>;
}

interface Question extends InputRequest {
  from: UpstreamConnection;
  upstreamId: RequestId;
  answer(response: JsonRpcResponse): void;
  timer: NodeJS.Timeout;
}

/** What comes next for a call that runs on: its answer, questions for the client, or a question the client cannot take. */
export type Outcome =
  | { kind: 'answered'; response: JsonRpcResponse }
  | { kind: 'questions'; inputRequests: Record<string, InputRequest> }
  | { kind: 'unanswerable'; requiredCapabilities: Record<string, unknown> };

/** The questions one modern request's upstream call asks, and their answers. */
export class Questions {
  private readonly open = new Map<string, Question>();
  private next = 1;
  private wake: (() => void) | undefined;
  private gathering: NodeJS.Timeout | undefined;
  /** Capabilities the server needed of the client and the client did not declare, as a capabilities object. */
  private lacking: Record<string, unknown> | undefined;

  /** A server's request for the client: it waits until a retry answers it, or `timeoutMs` passes. */
  ask(request: JsonRpcRequest, timeoutMs: number, from: UpstreamConnection): Promise<JsonRpcResponse> {
    const key = `q${this.next++}`;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.open.delete(key);
        resolve(errorResponse(key, new FleetError('UPSTREAM_TIMEOUT', `the client did not answer ${request.method} within ${timeoutMs} ms`).toJsonRpcError()));
      }, timeoutMs);
      this.open.set(key, {
        method: request.method,
        ...(request.params ? { params: request.params } : {}),
        from,
        upstreamId: request.id,
        answer: resolve,
        timer,
      });
      // Questions asked together go to the client together: wait a moment for the rest of the round.
      clearTimeout(this.gathering);
      this.gathering = setTimeout(() => this.wake?.(), ROUND_GATHER_MS);
    });
  }

  /**
   * The server asked something the client did not declare it can do (`capability` as the spec
   * names it: `sampling`, `elicitation.url`): the call cannot go on, the client learns what it lacks.
   */
  lack(capability: string): void {
    const required: Record<string, unknown> = {};
    let at = required;
    for (const part of capability.split('.')) at = at[part] = {};
    this.lacking = { ...this.lacking, ...required };
    this.wake?.();
  }

  /** The server withdrew a question (notifications/cancelled); false if it was not one of these. */
  withdraw(from: UpstreamConnection, upstreamId: RequestId): boolean {
    for (const [key, q] of this.open) {
      if (q.from !== from || q.upstreamId !== upstreamId) continue;
      this.settle(key, errorResponse(key, new FleetError('CANCELLED', 'the server withdrew its request').toJsonRpcError()));
      return true;
    }
    return false;
  }

  /** The retry's answers, by key; an answer that is not a result object leaves its question open (it is asked again). */
  answer(responses: unknown): void {
    if (typeof responses !== 'object' || responses === null || Array.isArray(responses)) return;
    for (const [key, value] of Object.entries(responses)) {
      if (!this.open.has(key) || typeof value !== 'object' || value === null || Array.isArray(value)) continue;
      this.settle(key, resultResponse(key, value as Record<string, unknown>));
    }
  }

  /** Waits for the call's answer or, if the server asks first, for the round of questions to gather. */
  async outcome(call: Promise<JsonRpcResponse>): Promise<Outcome> {
    if (!this.lacking && this.open.size === 0) {
      const woken = new Promise<'woken'>((resolve) => (this.wake = () => resolve('woken')));
      try {
        const first = await Promise.race([call, woken]);
        if (first !== 'woken') return { kind: 'answered', response: first };
      } finally {
        this.wake = undefined;
      }
    }
    if (this.lacking) return { kind: 'unanswerable', requiredCapabilities: this.lacking };
    return { kind: 'questions', inputRequests: this.pending() };
  }

  /** The questions still open, as the client sees them in inputRequests; undefined when none is. */
  asked(): Record<string, InputRequest> | undefined {
    return this.open.size > 0 ? this.pending() : undefined;
  }

  /** The call ends without the client: open questions are answered with `error` for the server. */
  fail(error: FleetError): void {
    for (const key of [...this.open.keys()]) this.settle(key, errorResponse(key, error.toJsonRpcError()));
    clearTimeout(this.gathering);
  }

  private pending(): Record<string, InputRequest> {
    return Object.fromEntries([...this.open].map(([key, q]) => [key, q.params ? { method: q.method, params: q.params } : { method: q.method }]));
  }

  private settle(key: string, response: JsonRpcResponse): void {
    const q = this.open.get(key);
    if (!q) return;
    this.open.delete(key);
    clearTimeout(q.timer);
    q.answer(response);
  }
}

/** A modern client: its upstream call's questions are collected, and a retry can take over its held call. */
export interface StatelessPeer extends ClientPeer {
  readonly questions: Questions;
  /** The level its request asked for in `_meta`; without one it hears no log lines at all (2026-07-28). */
  readonly logLevel: LogLevel | undefined;
  /** A retry arrived: what the held call still sends (progress, log lines) goes to the retry's stream. */
  takeOver(retry: ClientPeer): void;
}

export function isStatelessPeer(peer: ClientPeer): peer is StatelessPeer {
  return peer.era === 'modern' && 'questions' in peer;
}

/** A call held between rounds: its upstream answer to come, and the questions it asked, through its peer. */
export interface HeldCall {
  readonly id: string;
  readonly response: Promise<JsonRpcResponse>;
  readonly peer: StatelessPeer;
  /** Gives up the call (upstream cancelled): the client did not come back, or the gateway stops. */
  readonly abandon: (reason: string) => void;
}

/** The held calls of this gateway instance, bounded in number and in time. */
export class HeldCalls {
  private readonly held = new Map<string, { call: HeldCall; timer: NodeJS.Timeout }>();

  constructor(
    private readonly max: number,
    private readonly ttlMs: number,
  ) {}

  get size(): number {
    return this.held.size;
  }

  /** Holds a call until its retry takes it or `ttlMs` passes; refused when `max` are held. */
  hold(call: Omit<HeldCall, 'id'>): string {
    if (this.held.size >= this.max) {
      call.abandon('the gateway holds as many calls for their clients as it may (stateless.maxHeldCalls)');
      throw new FleetError('INTERNAL', `this gateway holds ${this.max} calls waiting for their clients' answers already (stateless.maxHeldCalls); retry later`);
    }
    const id = randomUUID();
    const timer = setTimeout(() => this.take(id)?.abandon('the client did not come back with its answers in time'), this.ttlMs);
    timer.unref();
    this.held.set(id, { call: { ...call, id }, timer });
    return id;
  }

  /** The held call, which leaves the table (one retry takes it); undefined if it expired or was taken. */
  take(id: string): HeldCall | undefined {
    const entry = this.held.get(id);
    if (!entry) return undefined;
    this.held.delete(id);
    clearTimeout(entry.timer);
    return entry.call;
  }

  /** At shutdown: every held call is given up. */
  abandonAll(): void {
    for (const id of [...this.held.keys()]) this.take(id)?.abandon('the gateway is shutting down');
  }
}
