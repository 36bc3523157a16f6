/**
 * What the admin API may start or reach: a server registered at run time (or a backend added to
 * one) must be on the config's `admin.register` allowlist, else the admin token would be a key to
 * run any command on the gateway's machine, or to make it call any URL with chosen headers.
 */
import { compileAny } from '../auth/patterns';
import type { RegisterAllowlist, ServerConfig } from '../config/schema';
import { FleetError } from '../protocol/errors';

export class RegistrationAllowlist {
  private readonly commands: (name: string) => boolean;
  private readonly images: (name: string) => boolean;
  private readonly urls: ((url: URL) => boolean)[];

  constructor(private readonly allow: RegisterAllowlist) {
    this.commands = compileAny(allow.commands)!;
    this.images = compileAny(allow.images)!;
    this.urls = allow.urls.map(urlPattern);
  }

  /** Throws FORBIDDEN naming what is not allowed and where the allowlist is. */
  check(config: ServerConfig): void {
    if (config.kind === 'stdio' && !this.commands(config.command)) throw refused(`command ${JSON.stringify(config.command)}`, 'commands', this.allow.commands);
    if (config.kind === 'docker' && !this.images(config.docker.image))
      throw refused(`image ${JSON.stringify(config.docker.image)}`, 'images', this.allow.images);
    if (config.kind === 'remote' && !this.urls.some((test) => test(new URL(config.url))))
      throw refused(`URL ${JSON.stringify(config.url)}`, 'urls', this.allow.urls);
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

function refused(what: string, list: string, entries: readonly string[]): FleetError {
  const allowed = entries.length > 0 ? `it allows ${entries.map((e) => JSON.stringify(e)).join(', ')}` : 'it is empty, so nothing can be registered';
  return new FleetError('FORBIDDEN', `${what} is not on the registration allowlist (admin.register.${list} in the gateway config; ${allowed})`);
}
