/**
 * The relay: how a client's request is served once its session (or, for a stateless 2026-07-28
 * client, its request) let it through. The route table says whether the gateway answers it (lists
 * from the merged catalog, ping, log levels, server/discover) or forwards it; a forwarded request
 * runs the chain of stages
 *
 *   trace (continue the client's W3C trace or start one) → correlate (trace and request id on the
 *   call's log lines and its upstream request) → mirrored headers (a modern call's Mcp-Param-*
 *   against its body) → resolve (route by name or URI) → authorize (the policy, for the call's
 *   principal) → rate limit (the `rateLimits` buckets) → input rounds (a modern client's
 *   multi-round-trip requests) → [subscription
 *   bookkeeping] → input drive (a 2026 server's questions to a 2025 client, each round a request of
 *   its own) → concurrency (the server's maxConcurrent slots and queue) → timeout (the tool's or
 *   the server's `timeouts`) → retry (an idempotent request whose backend died, again on another)
 *   → pick (a backend by `balancing` among those whose breaker admits it, a round the backend
 *   that asked) → breaker (the backend's circuit breaker counts its upstream faults) → lease (the
 *   upstream session it goes on: a pooled backend's least busy one) → upstream era (the envelope a
 *   2026 server needs) → task creation (a CreateTaskResult enters the task table under an id of
 *   the gateway's) → count (statistics, metrics, the call log line) → tap (start and end to the
 *   admin debug stream) → [upstream span, with tracing on: the attempt's OpenTelemetry client
 *   span] → send (ids, progress, cancellation)
 *
 * tasks/get, tasks/result, tasks/cancel and tasks/update run task-modern (the 2026 tasks
 * extension's answers, for a modern client) → resolve-by-task (the one upstream session holding the
 * client's task: nothing to pick) → trace → correlate → count → tap → [upstream span] → send, and
 * tasks/list asks that chain for each of the client's tasks (task-list.ts).
 *
 * Trace and correlation come first, so that even a refusal's log line names the trace.
 * Every answer is then shaped for the client's era (era-results.ts). Clients were authenticated
 * before they got here (by the listener). Rate limits come after resolve, not before it: per-server
 * and per-tool rules need the resolved target. Retry wraps pick, so each attempt picks afresh
 * (never a backend an earlier attempt failed on). The task routes are not limited: the call
 * that made a task was, and tasks/result waits for its task on purpose.
 *
 * It also keeps what it knows per client (attach/detach): the per-session servers it opened for it,
 * its hold on its principal's per-principal servers (a stateless request holds them while it runs),
 * its log level and its subscriptions.
 */
import type { Policy } from '../auth/policy';
import type { PermittedViews } from '../catalog/permitted';
import { resourceOwner, type CatalogView } from '../catalog/view';
import type { Tracer } from '@opentelemetry/api';
import type { Logger } from 'pino';
import type { CatalogViews } from '../catalog/views';
import type { CallRecord } from '../metrics/call-stats';
import type { TrafficEvents } from '../metrics/traffic-events';
import { META, MODERN_VERSIONS } from '../protocol/eras';
import { FleetError } from '../protocol/errors';
import { resultResponse, type JsonRpcResponse } from '../protocol/jsonrpc';
import type { ServerGroup } from '../servers/group';
import type { Reach, ServerRegistry } from '../servers/registry';
import type { Subject } from '../upstream/token-exchange';
import type { InitializeParams } from '../upstream/connection';
import type { ClientDirectory, ClientPeer } from './clients';
import type { ConcurrencyGates } from './concurrency-gates';
import { chain, type Call, type Next } from './context';
import type { LogLevel } from './log-levels';
import { forLegacyClient, forModernClient } from './era-results';
import type { HeldCalls } from './held-calls';
import { parseFilter, type ListenFilter, type Listens } from './listen';
import type { ProgressRouter } from './progress';
import type { RateLimits } from './rate-limits';
import type { RequestStateSealer } from './request-state';
import { BY_TASK, type LocalServices, type MethodRoute } from './routes';
import { setLevel, type SharedUpstreamState } from './shared-upstream-state';
import { authorizeStage } from './stages/authorize';
import { concurrencyStage } from './stages/concurrency';
import { correlateStage } from './stages/correlate';
import { countStage } from './stages/count';
import { inputDriveStage } from './stages/input-drive';
import { inputRoundStage } from './stages/input-rounds';
import { mirroredHeaderStage } from './stages/mirrored-headers';
import { leaseStage } from './stages/lease';
import { breakerStage } from './stages/breaker';
import { pickStage } from './stages/pick';
import { rateLimitStage, type RefusalCounter } from './stages/rate-limit';
import { resolveStage, type RoutingDeps } from './stages/resolve';
import { retryStage, type RetryCounter } from './stages/retry';
import { sendStage } from './stages/send';
import { subscriptionStage } from './stages/subscription';
import { taskCreateStage } from './stages/task-create';
import { taskExtensionLegacyStage } from './stages/task-extension-legacy';
import { taskModernStage } from './stages/task-modern';
import { taskRouteStage } from './stages/task-route';
import { tapStage } from './stages/tap';
import { timeoutStage } from './stages/timeout';
import { traceStage } from './stages/trace';
import { upstreamEraStage } from './stages/upstream-era';
import { upstreamSpanStage } from './stages/upstream-span';
import { listTasks } from './task-list';
import { TASKS_EXTENSION, declaresTasksExtension, tasksCapability } from './task-messages';
import type { TaskInputs } from './task-questions';
import { ownerOf, type TaskTable } from './tasks';

export interface RelayDeps {
  registry: ServerRegistry;
  views: CatalogViews;
  /** Who may use what, and the views it leaves each principal. */
  policy: Policy;
  permitted: PermittedViews;
  clients: ClientDirectory;
  progress: ProgressRouter;
  shared: SharedUpstreamState;
  /** The tasks upstreams created for clients, under the gateway's ids. */
  tasks: TaskTable;
  /** What 2025 servers ask during modern clients' tasks. */
  taskInputs: TaskInputs;
  /** How often (the config's rateLimits) and how many at once (servers' maxConcurrent); each refusal is counted. */
  limits: { rate: RateLimits; gates: ConcurrencyGates; refused: RefusalCounter };
  /** A forwarded call ended: into the statistics and the metrics. */
  recordCall: (call: CallRecord) => void;
  /** A forwarded call is tried again on another backend (`servers.X.retry`). */
  recordRetry: RetryCounter;
  pageSize: number;
  /** One `call` log line per forwarded request (at first: a reload may change it, see observe()). */
  logCalls: boolean;
  /** Records each call's spans (config `tracing`); without it the calls carry trace ids only (at first, as logCalls). */
  tracer?: Tracer;
  /** Live traffic for the admin debug stream. */
  events: TrafficEvents;
  /** What 2026-07-28 clients need: the sealer of requestState, the held calls, the listen streams, this instance's name. */
  stateless: {
    sealer: RequestStateSealer;
    held: HeldCalls;
    listens: Listens;
    instance: string;
    serverInfo: { name: string; version: string };
    cache: { ttlMs: number; scope: 'private' | 'public' };
  };
  log: Logger;
}

export class Relay implements LocalServices, RoutingDeps {
  /** One chain per forwarding route, built on first use. */
  private readonly chains = new Map<MethodRoute, Next>();
  private observing: Pick<RelayDeps, 'logCalls' | 'tracer'>;

  constructor(private readonly deps: RelayDeps) {
    this.observing = { logCalls: deps.logCalls, tracer: deps.tracer };
  }

  /**
   * New observability settings of a reload: the chains are built again with them, so every call
   * from now on is traced and logged as they say; a call in flight ends on the chain it started on.
   */
  observe(settings: Partial<Pick<RelayDeps, 'logCalls' | 'tracer'>>): void {
    this.observing = { ...this.observing, ...settings };
    this.chains.clear();
  }

  get pageSize(): number {
    return this.deps.pageSize;
  }

  /** Serves one request the session let through, answered as the client's era expects; throws FleetError for what the gateway refuses. */
  handle(call: Call, route: Exclude<MethodRoute, { kind: 'initialize' }>): Promise<JsonRpcResponse> {
    // A session holds its principal's upstreams from attach to detach; a stateless request while it runs.
    if (call.client.era === 'modern' && this.deps.registry.hasTenants) return this.holding(call.client, () => this.serve(call, route));
    return this.serve(call, route);
  }

  private async holding(client: ClientPeer, serve: () => Promise<JsonRpcResponse>): Promise<JsonRpcResponse> {
    const release = await this.deps.registry.holdTenant(client.principal.id, subjectOf(client));
    try {
      return await serve();
    } finally {
      release();
    }
  }

  private serve(call: Call, route: Exclude<MethodRoute, { kind: 'initialize' }>): Promise<JsonRpcResponse> {
    const answer =
      route.kind === 'local'
        ? route.answer(call.params, call.client, this).then((result) => resultResponse(call.request.id, result))
        : route.kind === 'listen'
          ? this.listen(call)
          : route.kind === 'task-list'
            ? listTasks(call, this.deps.tasks, this.deps.pageSize, this.chainFor(BY_TASK))
            : this.chainFor(route)(call);
    return call.client.era === 'modern' ? answer.then((r) => forModernClient(call.request.method, r, this.deps.stateless)) : answer.then(forLegacyClient);
  }

  /**
   * A modern client's subscriptions/listen: acknowledged at once, then the change notifications it
   * opted in to, until it closes the stream or the gateway stops. Resources it names are subscribed
   * upstream once per URI, however many listen streams and sessions want them.
   */
  private async listen(call: Call): Promise<JsonRpcResponse> {
    const filter = this.honourTasks(call.client, this.honour(call.client, parseFilter(call.params)));
    const uris = filter.resourceSubscriptions ?? [];
    // Upstreams have the subscriptions before the acknowledgement goes out: an update after it is heard.
    await Promise.all(uris.map((uri) => this.subscribeShared(call.client, uri, true)));
    return new Promise((resolve) => {
      let done = false;
      const finish = () => {
        if (done) return;
        done = true;
        close();
        call.cancellation.whenCancelled(undefined);
        for (const uri of uris) void this.subscribeShared(call.client, uri, false);
        resolve(resultResponse(call.request.id, { resultType: 'complete', _meta: { [META.subscriptionId]: call.request.id } }));
      };
      const close = this.deps.stateless.listens.open(
        call.request.id,
        call.client.principal.id,
        filter,
        (method, params) => call.client.notify(method, params),
        finish,
      );
      call.cancellation.whenCancelled(finish);
    });
  }

  /** What a listen stream gets: every list it asked for, and the resources of shared (its tenant's) servers that take subscriptions. */
  private honour(client: ClientPeer, filter: ListenFilter): ListenFilter {
    if (!filter.resourceSubscriptions) return filter;
    const view = this.view(client);
    const subscribable = filter.resourceSubscriptions.filter((uri) => {
      const server = resourceOwner(view, uri);
      const group = server === undefined ? undefined : this.group(client, server);
      return group?.connections.some((c) => (c.capabilities.resources as { subscribe?: unknown } | undefined)?.subscribe === true) ?? false;
    });
    return { ...filter, resourceSubscriptions: subscribable };
  }

  /**
   * The tasks a listen stream may hear: only for a client that declared the tasks extension (else
   * -32021, as the extension says), and only the live tasks of modern clients it names.
   */
  private honourTasks(client: ClientPeer, filter: ListenFilter): ListenFilter {
    if (!filter.taskIds) return filter;
    if (!declaresTasksExtension(client.capabilities)) {
      throw new FleetError('MISSING_CLIENT_CAPABILITY', 'Missing required client capability: task notifications need the tasks extension', {
        data: { requiredCapabilities: { extensions: { [TASKS_EXTENSION]: {} } } },
      });
    }
    return { ...filter, taskIds: filter.taskIds.filter((id) => this.deps.tasks.owned(id, ownerOf(client)) !== undefined) };
  }

  /** One upstream subscribe per URI on a shared (tenant's) server, counting listen streams as subscribers; settles once the upstreams answered. */
  private async subscribeShared(client: ClientPeer, uri: string, subscribe: boolean): Promise<void> {
    const server = resourceOwner(this.view(client), uri);
    const group = server === undefined ? undefined : this.group(client, server);
    if (!group) return;
    const tell = subscribe ? this.deps.shared.subscribe(group, uri, client.id) : this.deps.shared.unsubscribe(group, uri, client.id);
    if (!tell) return;
    const method = subscribe ? 'resources/subscribe' : 'resources/unsubscribe';
    await Promise.all(group.connections.map((conn) => conn.fireAndForget(method, { uri }, group.config.requestTimeoutMs)));
  }

  discover(client: ClientPeer): Record<string, unknown> {
    const instructions = this.instructions(client);
    // the tasks extension, as far as a server this client sees takes tasks (a 2025 server's: the gateway makes them for it)
    const tasks = this.tasksCapability(client) ? { extensions: { [TASKS_EXTENSION]: {} } } : {};
    return {
      supportedVersions: [...MODERN_VERSIONS],
      capabilities: {
        tools: { listChanged: true },
        prompts: { listChanged: true },
        resources: { subscribe: true, listChanged: true },
        logging: {},
        completions: {},
        ...tasks,
      },
      ...(instructions ? { instructions } : {}),
    };
  }

  /** A session finished its handshake: the relay serves it from now on, with its own per-session servers and its principal's. */
  async attach(peer: ClientPeer, init: () => InitializeParams): Promise<void> {
    const attached = this.deps.clients.add(peer);
    // Also without such servers now: one registered later opens for the sessions already here.
    const subject = subjectOf(peer);
    const [, release] = await Promise.all([this.deps.registry.openOwner(peer.id, init, subject), this.deps.registry.holdTenant(peer.principal.id, subject)]);
    attached.releaseTenant = release;
  }

  /** A session ended: its per-session servers stop, its principal's may, and shared upstreams forget what it asked for. */
  async detach(peer: ClientPeer): Promise<void> {
    const attached = this.deps.clients.remove(peer.id);
    if (!attached) return;
    attached.releaseTenant?.();
    for (const { server, tenant, uri } of this.deps.shared.dropClient(peer.id)) {
      const group = this.deps.registry.groupFor({ tenant }, server);
      for (const conn of group?.connections ?? []) void conn.fireAndForget('resources/unsubscribe', { uri }, group!.config.requestTimeoutMs);
    }
    this.deps.views.forget(peer.id);
    // A 2025 task belongs to its session: once the session is gone, nobody may reach it.
    this.deps.tasks.dropClient(peer.id);
    await Promise.all([this.deps.registry.closeOwner(peer.id), this.shareLevel()]);
  }

  /** The resources the client subscribed to through the gateway (the admin list of sessions counts them). */
  subscriptionCount(peer: ClientPeer): number {
    return this.deps.clients.get(peer.id)?.subscriptions.size ?? 0;
  }

  /** The servers' instructions for this client, one section each. */
  instructions(peer: ClientPeer): string {
    return this.deps.registry
      .groupsFor(this.reach(peer))
      .flatMap((g) => {
        const text = g.lead?.connection?.init.instructions;
        return typeof text === 'string' && text.trim() ? [`## ${g.name}\n${text.trim()}`] : [];
      })
      .join('\n\n');
  }

  /**
   * The tasks capability for this client: as far as the servers it sees now take tasks for
   * tools/call (a server of the extension takes them for a 2025 client through the gateway, which
   * lists and cancels them).
   */
  tasksCapability(peer: ClientPeer): Record<string, unknown> | undefined {
    const connections = this.deps.registry.groupsFor(this.reach(peer)).flatMap((g) => g.connections);
    if (connections.some((c) => c.era === 'modern' && declaresTasksExtension(c.capabilities)))
      return { list: {}, cancel: {}, requests: { tools: { call: {} } } };
    return tasksCapability(connections.map((c) => c.capabilities));
  }

  /** The client changed its roots: its own upstreams hear it (shared ones never asked for roots). */
  rootsChanged(peer: ClientPeer, params: Record<string, unknown> | undefined): void {
    for (const g of this.deps.registry.groupsFor(this.reach(peer)))
      if (g.owner === peer.id) for (const conn of g.connections) void conn.notify('notifications/roots/list_changed', params);
  }

  // ---- LocalServices, RoutingDeps ----------------------------------------------------------

  view(client: ClientPeer): CatalogView {
    return this.deps.views.for(this.reach(client));
  }

  listed(client: ClientPeer): CatalogView {
    return this.deps.permitted.of(this.view(client), client.principal);
  }

  group(client: ClientPeer, server: string): ServerGroup | undefined {
    return this.deps.registry.groupFor(this.reach(client), server);
  }

  drainingServerOf(name: string): string | undefined {
    return this.deps.registry.drainingServerOf(name, this.deps.views.separator);
  }

  reconnectingServerOf(name: string): string | undefined {
    return this.deps.registry.reconnectingServerOf(name, this.deps.views.separator);
  }

  async setLevel(client: ClientPeer, level: LogLevel): Promise<void> {
    const attached = this.deps.clients.get(client.id);
    if (attached) attached.logLevel = level;
    const own = this.deps.registry.groupsFor(this.reach(client)).filter((g) => g.owner === client.id);
    await Promise.all([...own.flatMap((g) => g.connections.map((c) => setLevel(c, level))), this.shareLevel()]);
  }

  // ---- helpers -----------------------------------------------------------------------------

  /** What a client reaches besides the shared servers: its session's servers and its principal's. */
  private reach(client: ClientPeer): Reach {
    return { session: client.id, tenant: client.principal.id };
  }

  /** Upstreams of many clients (shared, per-principal) log at the most verbose level any client asked for. */
  private async shareLevel(): Promise<void> {
    if (!this.deps.shared.updateLevel(this.deps.clients.all(false).map((c) => c.logLevel))) return;
    const level = this.deps.shared.logLevel;
    if (!level) return;
    await Promise.all(this.deps.registry.multiClientGroups().flatMap((g) => g.connections.map((c) => setLevel(c, level))));
  }

  private chainFor(route: Extract<MethodRoute, { kind: 'forward' | 'subscription' | 'task' }>): Next {
    let next = this.chains.get(route);
    if (!next) {
      const { clients, shared, progress, recordCall, recordRetry, stateless, log, tasks, taskInputs, policy, limits, events } = this.deps;
      const { logCalls, tracer } = this.observing;
      const tracing = traceStage(tracer);
      const upstreamSpan = tracer ? [upstreamSpanStage(tracer)] : [];
      if (route.kind === 'task') {
        next = chain(
          [
            taskModernStage(tasks, taskInputs),
            taskRouteStage(tasks, this),
            upstreamEraStage(clients, this),
            taskExtensionLegacyStage,
            tracing,
            correlateStage,
            countStage(recordCall, logCalls),
            tapStage(events),
            ...upstreamSpan,
          ],
          sendStage(progress),
        );
        this.chains.set(route, next);
        return next;
      }
      const subscription = route.kind === 'subscription' ? [subscriptionStage(route.subscribe, clients, shared)] : [];
      // an unsubscribe only gives something back: it is never refused for the rate
      const rateLimit = route.kind === 'subscription' && !route.subscribe ? [] : [rateLimitStage(limits.rate, limits.refused)];
      const rounds = inputRoundStage({ sealer: stateless.sealer, held: stateless.held, clients, instance: stateless.instance, log });
      next = chain(
        [
          tracing,
          correlateStage,
          mirroredHeaderStage(this),
          resolveStage(route.target, this),
          authorizeStage(policy),
          ...rateLimit,
          rounds,
          ...subscription,
          inputDriveStage,
          concurrencyStage(limits.gates, limits.refused),
          timeoutStage,
          ...(route.kind === 'forward' ? [retryStage(recordRetry)] : []),
          pickStage,
          breakerStage,
          leaseStage,
          upstreamEraStage(clients, this),
          taskCreateStage(tasks, progress),
          countStage(recordCall, logCalls),
          tapStage(events),
          ...upstreamSpan,
        ],
        sendStage(progress),
      );
      this.chains.set(route, next);
    }
    return next;
  }
}

/** Whom a client's own upstreams act for: its principal, with the access token it presented last. */
function subjectOf(peer: ClientPeer): Subject {
  return { principal: peer.principal.id, token: () => peer.subjectToken() };
}
