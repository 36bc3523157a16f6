/**
 * What the admin API may start or reach: a server registered at run time (or a backend added to
 * one) must be on the config's `admin.register` allowlist, else the admin token would be a key to
 * run any command on the gateway's machine, to make it call any URL with chosen headers, or to
 * make it read any file (a TLS key "file" that is /etc/shadow) or mount any directory into a
 * container. Each refusal is FORBIDDEN naming the body's field and the allowlist entry to change.
 */
import { realpath } from 'node:fs/promises';
import { basename, dirname, join, normalize, resolve, sep } from 'node:path';
import { compileAny } from '../auth/patterns';
import type { RegisterAllowlist, ServerConfig } from '../config/schema';
import { FleetError } from '../protocol/errors';

/** A file or directory the server's config names, by the field it is in. */
interface PathField {
  field: string;
  path: string;
}

export class RegistrationAllowlist {
  private readonly commands: (name: string) => boolean;
  private readonly images: (name: string) => boolean;
  private readonly urls: ((url: URL) => boolean)[];
  /** `paths`, resolved as the paths they are compared with are (a prefix that is a symlink is its target). */
  private readonly prefixes: Promise<string[]>;

  constructor(private readonly allow: RegisterAllowlist) {
    this.commands = compileAny(allow.commands)!;
    this.images = compileAny(allow.images)!;
    this.urls = allow.urls.map(urlPattern);
    this.prefixes = Promise.all(allow.paths.map(realPath));
  }

  /**
   * Throws FORBIDDEN naming the field that is not allowed and where the allowlist is. A backend's
   * `inherited` server config was checked (or written by the operator) already: paths it passed
   * on unchanged are not checked again.
   */
  async check(config: ServerConfig, inherited?: ServerConfig): Promise<void> {
    this.checkTarget(config);
    await this.checkPaths(config, inherited);
  }

  /** What the server runs or reaches: its command, image or URL. Throws FORBIDDEN naming the field. */
  checkTarget(config: ServerConfig): void {
    // a command given as a path is matched without its `..` and `.` segments: /opt/mcp/../../bin/sh is /bin/sh
    if (config.kind === 'stdio' && !this.commands(commandName(config.command)))
      throw refused('command', JSON.stringify(config.command), 'is not on', 'commands', this.allow.commands);
    if (config.kind === 'docker' && !this.images(config.docker.image))
      throw refused('docker.image', JSON.stringify(config.docker.image), 'is not on', 'images', this.allow.images);
    if (config.kind === 'remote' && !this.urls.some((test) => test(new URL(config.url))))
      throw refused('url', JSON.stringify(config.url), 'is not on', 'urls', this.allow.urls);
  }

  /** The host paths it names, each under `paths` once resolved, except those `inherited` passes on unchanged. */
  async checkPaths(config: ServerConfig, inherited?: ServerConfig): Promise<void> {
    const trusted = new Set(inherited ? pathFields(inherited).map(key) : []);
    const prefixes = await this.prefixes;
    for (const entry of pathFields(config)) {
      if (trusted.has(key(entry))) continue;
      const real = await realPath(entry.path);
      if (prefixes.some((prefix) => real === prefix || real.startsWith(prefix.endsWith(sep) ? prefix : prefix + sep))) continue;
      const shown = real === entry.path ? JSON.stringify(entry.path) : `${JSON.stringify(entry.path)} (${real} once resolved)`;
      throw refused(entry.field, shown, 'is not under a path of', 'paths', this.allow.paths);
    }
  }
}

/** The host paths a server's config makes the gateway use: a working directory, TLS files, bind-mounted directories. */
function pathFields(config: ServerConfig): PathField[] {
  if (config.kind === 'stdio') return config.cwd === undefined ? [] : [{ field: 'cwd', path: config.cwd }];
  if (config.kind === 'remote')
    return (['caFile', 'certFile', 'keyFile'] as const).flatMap((f) => (config.tls?.[f] === undefined ? [] : [{ field: `tls.${f}`, path: config.tls[f] }]));
  // "/host/dir:/data:ro" binds a host directory; "name:/data" is a Docker volume, no host path
  return config.docker.volumes.flatMap((spec, i) => (spec.startsWith('/') ? [{ field: `docker.volumes.${i}`, path: spec.split(':')[0] }] : []));
}

function key(entry: PathField): string {
  return `${entry.field}\0${entry.path}`;
}

function commandName(command: string): string {
  return command.includes('/') ? normalize(command) : command;
}

/**
 * The absolute path without `..`, `.` and symlinks. A path that does not exist (yet) is resolved
 * as far as it does: its nearest existing ancestor's real path, then the rest.
 */
async function realPath(path: string): Promise<string> {
  const absolute = resolve(path);
  try {
    return await realpath(absolute);
  } catch {
    const parent = dirname(absolute);
    return parent === absolute ? absolute : join(await realPath(parent), basename(absolute));
  }
}

/** `scheme://host[:port][/path]`: host `*` within the host name only, port `*` any, a trailing `*` in the path any rest. */
function urlPattern(pattern: string): (url: URL) => boolean {
  const m = /^(\w+):\/\/([^/:]+)(?::(\d+|\*))?(\/.*)?$/.exec(pattern)!;
  const [, scheme, host, port, path = '/*'] = m;
  const hostTest = compileAny([host.toLowerCase()])!;
  const pathTest = path.endsWith('*') ? (p: string) => p.startsWith(path.slice(0, -1)) : (p: string) => p === path;
  return (url) =>
    url.protocol === `${scheme}:` &&
    !url.username &&
    !url.password &&
    hostTest(url.hostname.toLowerCase()) &&
    (port === '*' || url.port === (port ?? '') || (port === undefined && url.port === '')) &&
    pathTest(url.pathname);
}

function refused(field: string, what: string, relation: string, list: string, entries: readonly string[]): FleetError {
  const allowed = entries.length > 0 ? `it allows ${entries.map((e) => JSON.stringify(e)).join(', ')}` : 'it is empty, so nothing can be registered';
  return new FleetError('FORBIDDEN', `${field}: ${what} ${relation} the registration allowlist (admin.register.${list} in the gateway config; ${allowed})`);
}
