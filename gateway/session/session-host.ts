/** What a client session needs from the gateway around it; the fleet implements it. */
import type { GatewayConfig } from '../config/schema';
import type { CatalogView } from '../catalog/view';
import type { ServerLink } from '../servers/group';
import type { ClientSession } from './client-session';
import type { LogLevel } from '../relay/log-levels';
import type { ProgressRouter } from '../relay/progress';
import type { CallRecord } from '../metrics/call-stats';

export interface SessionHost {
  readonly config: GatewayConfig;
  readonly progress: ProgressRouter;
  readonly serverInfo: { name: string; version: string };
  /** True once shutdown began: new requests are refused, in-flight ones finish. */
  readonly draining: boolean;
  /** Shared upstreams and the session's own, in config order. */
  links(session: ClientSession): ServerLink[];
  view(session: ClientSession): CatalogView;
  /** Opens the session's per-session upstreams; resolves once each made its first attempt. */
  openOwnLinks(session: ClientSession): Promise<void>;
  setLogLevel(session: ClientSession, level: LogLevel): Promise<void>;
  /** Records a subscription; true when it must be forwarded upstream (shared servers get one per URI). */
  subscribe(session: ClientSession, link: ServerLink, uri: string): boolean;
  /** Drops a subscription; true when the upstream must be told. */
  unsubscribe(session: ClientSession, link: ServerLink, uri: string): boolean;
  /** The session ended; `upstreamsStopped` settles when its own upstreams are gone (shutdown waits for it). */
  sessionClosed(session: ClientSession, upstreamsStopped: Promise<void>): void;
  /** A forwarded request ended: counted in the call statistics and the metrics. */
  recordCall(call: CallRecord): void;
}
