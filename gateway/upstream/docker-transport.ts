/**
 * A stdio MCP server in a Docker container, reached through the Engine API: the container is
 * created hardened, its stdin/stdout are attached (hijacked) and stderr is demultiplexed into the
 * gateway's log. Closing stops and removes the container; a container that exits ends the transport.
 */
import { PassThrough } from 'node:stream';
import type Docker from 'dockerode';
import type { Logger } from 'pino';
import { FleetError } from '../protocol/errors';
import { encodeLine } from '../protocol/line-framing';
import type { JsonRpcMessage } from '../protocol/jsonrpc';
import type { MessageTransport } from '../protocol/transport';
import { readLines, readStdout } from './stdio-streams';
import { containerSpec, type ContainerIdentity } from './container-spec';
import { writeContainerSecrets, type ContainerSecretFiles } from './container-secrets';
import type { DockerSettings } from '../config/schema';
import type { LiveStrings } from '../config/secrets/live';
import type { MessageLimits } from '../protocol/json-limits';
import { CallsInFlight } from './stderr-attribution';

const STDERR_TAIL_LINES = 20;

export class DockerTransport implements MessageTransport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JsonRpcMessage) => void;
  onactivity?: () => void;

  private container: Docker.Container | undefined;
  private stream: NodeJS.ReadWriteStream | undefined;
  private finished = false;
  private closing = false;
  private readonly stderrTail: string[] = [];
  /** Which calls a stderr line may belong to (stderr-attribution.ts). */
  private readonly inFlight = new CallsInFlight();
  private exited: Promise<void> = Promise.resolve();
  private secretFiles: ContainerSecretFiles | undefined;
  private stopFollowing: (() => void) | undefined;

  constructor(
    private readonly docker: Docker,
    private readonly settings: DockerSettings,
    private readonly identity: ContainerIdentity,
    private readonly log: Logger,
    /** Told once when the container is gone, whoever ended it (owners such as a pool count on it). */
    private readonly onEnded: () => void = () => {},
    /** What the gateway takes from the server (default: DEFAULT_MAX_MESSAGE_BYTES, DEFAULT_MAX_DEPTH). */
    private readonly limits?: MessageLimits,
    /**
     * The env when it holds secrets: those entries go in as files (container-secrets.ts), and a
     * rotation of one stops this container, so that its owner starts one with the new value.
     */
    private readonly liveEnv?: LiveStrings,
  ) {}

  get containerId(): string | undefined {
    return this.container?.id;
  }

  private started: Promise<void> | undefined;

  /**
   * Creates, attaches and starts the container; rejects with a message that says what to do. A
   * pool starts containers ahead of use, so a second call (from the connection) is a no-op.
   */
  start(): Promise<void> {
    this.started ??= this.launch();
    return this.started;
  }

  private async launch(): Promise<void> {
    const env = { ...(this.liveEnv?.current() ?? this.settings.env) };
    const secrets: Record<string, string> = {};
    for (const name of this.liveEnv?.secretKeys ?? []) {
      secrets[name] = env[name];
      delete env[name];
    }
    const spec = await containerSpec(this.docker, { ...this.settings, env }, this.identity);
    try {
      if (Object.keys(secrets).length > 0) {
        this.secretFiles = await writeContainerSecrets(secrets, spec.User);
        // new arrays: Binds is the config's own volumes list
        spec.Env = [...(spec.Env ?? []), ...this.secretFiles.env];
        spec.HostConfig = { ...spec.HostConfig, Binds: [...(spec.HostConfig?.Binds ?? []), ...this.secretFiles.binds] };
        this.stopFollowing = this.liveEnv!.onChange(() => {
          this.log.info({ container: this.container?.id.slice(0, 12) }, 'a secret in its env rotated; restarting the container');
          void this.close();
        });
      }
      this.container = await this.docker.createContainer(spec);
    } catch (err) {
      await this.secretFiles?.remove();
      this.finish();
      throw explainCreateError(err, this.settings.image);
    }
    const stream = await this.container.attach({ stream: true, stdin: true, stdout: true, stderr: true, hijack: true });
    this.stream = stream;
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    this.docker.modem.demuxStream(stream, stdout, stderr);
    readStdout(
      stdout,
      this.log,
      (m) => {
        this.inFlight.received(m);
        this.onmessage?.(m);
      },
      this.identity.server,
      this.limits,
      () => this.onactivity?.(),
    );
    readLines(stderr, (line) => this.stderrLine(line));
    stream.on('error', (err: Error) => this.onerror?.(err));
    // 'next-exit': the default condition answers at once for a container not started yet.
    this.exited = this.container.wait({ condition: 'next-exit' }).then(
      (r: { StatusCode?: number }) => this.onExit(r.StatusCode),
      () => this.onExit(undefined),
    );
    try {
      await this.container.start();
    } catch (err) {
      await this.remove();
      this.finish();
      throw new FleetError('UPSTREAM_UNAVAILABLE', `container for image ${this.settings.image} did not start: ${(err as Error).message}`, { cause: err });
    }
    this.log.info({ container: this.container.id.slice(0, 12), image: this.settings.image }, 'container started');
  }

  send(message: JsonRpcMessage): Promise<void> {
    const stream = this.stream;
    if (!stream || this.finished) return Promise.reject(new FleetError('UPSTREAM_UNAVAILABLE', 'container is not running'));
    this.inFlight.sent(message);
    return new Promise((resolve, reject) => stream.write(encodeLine(message), (err) => (err ? reject(err) : resolve())));
  }

  async close(): Promise<void> {
    if (!this.container) return this.finish();
    this.closing = true;
    const container = this.container;
    await container.stop({ t: this.settings.stopTimeoutSec }).catch(() => {}); // already stopped is fine
    await this.exited;
    await this.remove();
    this.finish();
  }

  private stderrLine(line: string): void {
    this.stderrTail.push(line);
    if (this.stderrTail.length > STDERR_TAIL_LINES) this.stderrTail.shift();
    this.log.info({ stream: 'stderr', ...this.inFlight.fields() }, line);
  }

  private async onExit(code: number | undefined): Promise<void> {
    if (!this.finished && !this.closing) {
      const tail = this.stderrTail.slice(-5).join(' | ');
      this.log.warn({ exitCode: code, stderr: tail || undefined }, 'container exited');
      this.onerror?.(new FleetError('UPSTREAM_UNAVAILABLE', `container exited with code ${code}${tail ? `: ${tail}` : ''}`));
      await this.remove();
    }
    this.finish();
  }

  private async remove(): Promise<void> {
    await this.container?.remove({ force: true, v: true }).catch(() => {}); // gone already is fine
    await this.secretFiles?.remove();
  }

  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    this.stopFollowing?.();
    this.stream?.end();
    this.onEnded();
    this.onclose?.();
  }
}

function explainCreateError(err: unknown, image: string): FleetError {
  const e = err as { statusCode?: number; message?: string };
  if (e.statusCode === 404) {
    return new FleetError('UPSTREAM_UNAVAILABLE', `image ${image} does not exist on this Docker engine; build it (npm run docker:build) or pull it`, {
      cause: err,
    });
  }
  return new FleetError('UPSTREAM_UNAVAILABLE', `cannot create a container from ${image}: ${e.message ?? String(err)}`, { cause: err });
}
