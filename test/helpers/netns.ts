/**
 * Network namespaces for firewall tests: a "router" namespace with one veth link (its own /24)
 * to each host namespace, forwarding between them, so rules applied in the router's FORWARD
 * chain see the traffic between hosts as a host's DOCKER-USER chain sees traffic between
 * containers. Hosts run real TCP listeners and real connects. Everything is named with one
 * random prefix, and `destroy()` removes it all (processes, namespaces, and with them the links).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Answers every connection on each port with `ok <port>`. */
const LISTENER = `const net = require('node:net'); const ports = process.argv.slice(1).map(Number); let up = 0;
for (const p of ports) net.createServer((s) => s.end('ok ' + p)).listen(p, '0.0.0.0', () => { if (++up === ports.length) console.log('ready'); });`;

/** Prints open (the listener answered), refused, or timeout (nothing within 3 s). */
const PROBE = `const s = require('node:net').connect(Number(process.argv[2]), process.argv[1]);
const done = (r) => { console.log(r); process.exit(0); };
setTimeout(() => done('timeout'), 3000);
s.on('data', (d) => done(String(d).startsWith('ok') ? 'open' : 'garbage'));
s.on('error', (e) => done(e.code === 'ECONNREFUSED' ? 'refused' : e.code));`;

export type ProbeResult = 'open' | 'refused' | 'timeout' | string;

export async function sh(file: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(file, args, { maxBuffer: 16 * 1024 * 1024 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string; message: string };
    return { code: typeof e.code === 'number' ? e.code : 1, stdout: e.stdout ?? '', stderr: e.stderr ?? e.message };
  }
}

async function must(file: string, args: string[]): Promise<string> {
  const r = await sh(file, args);
  if (r.code !== 0) throw new Error(`${file} ${args.join(' ')} failed (exit ${r.code}): ${r.stderr.trim()}`);
  return r.stdout;
}

/** Installs the Debian packages whose commands are missing (the tests run as root, as CI does). */
export async function requireCommands(commands: Record<string, string>): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('network namespace tests need root (ip netns, iptables)');
  const missing = [];
  for (const [cmd, pkg] of Object.entries(commands)) if ((await sh('sh', ['-c', `command -v ${cmd}`])).code !== 0) missing.push(pkg);
  if (missing.length === 0) return;
  await must('apt-get', ['update', '-qq']);
  await must('apt-get', ['install', '-y', '-qq', ...new Set(missing)]);
}

export class NetnsLab {
  readonly prefix = `mcpfw${randomBytes(3).toString('hex')}`;
  readonly router = `${this.prefix}-router`;
  private readonly hosts = new Map<string, { ns: string; ip: string }>();
  private readonly listeners: ChildProcess[] = [];

  /** Creates the router namespace with forwarding on. */
  async start(): Promise<void> {
    await must('ip', ['netns', 'add', this.router]);
    await this.exec(this.router, ['ip', 'link', 'set', 'lo', 'up']);
    await this.exec(this.router, ['sysctl', '-q', '-w', 'net.ipv4.ip_forward=1']);
  }

  /** Adds a host namespace on its own /24 behind the router; returns its address. */
  async addHost(name: string): Promise<string> {
    const n = this.hosts.size + 1;
    const ns = `${this.prefix}-${name}`;
    const [inside, outside] = [`${this.prefix}h${n}`, `${this.prefix}r${n}`];
    const ip = `10.231.${n}.2`;
    await must('ip', ['netns', 'add', ns]);
    await must('ip', ['link', 'add', inside, 'netns', ns, 'type', 'veth', 'peer', 'name', outside, 'netns', this.router]);
    await this.exec(ns, ['ip', 'addr', 'add', `${ip}/24`, 'dev', inside]);
    await this.exec(ns, ['ip', 'link', 'set', inside, 'up']);
    await this.exec(ns, ['ip', 'link', 'set', 'lo', 'up']);
    await this.exec(ns, ['ip', 'route', 'add', 'default', 'via', `10.231.${n}.1`]);
    await this.exec(this.router, ['ip', 'addr', 'add', `10.231.${n}.1/24`, 'dev', outside]);
    await this.exec(this.router, ['ip', 'link', 'set', outside, 'up']);
    this.hosts.set(name, { ns, ip });
    return ip;
  }

  ip(host: string): string {
    return this.host(host).ip;
  }

  /** Runs a command inside a namespace; throws with its stderr when it fails. */
  exec(ns: string, cmd: string[]): Promise<string> {
    return must('ip', ['netns', 'exec', ns, ...cmd]);
  }

  /** Starts a listener on `ports` in `host` and waits until it accepts. */
  async listen(host: string, ports: number[]): Promise<void> {
    const child = spawn('ip', ['netns', 'exec', this.host(host).ns, process.execPath, '-e', LISTENER, ...ports.map(String)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.listeners.push(child);
    await new Promise<void>((resolve, reject) => {
      let err = '';
      child.stderr.on('data', (d: Buffer) => (err += d.toString()));
      child.stdout.on('data', (d: Buffer) => d.toString().includes('ready') && resolve());
      child.on('exit', (code) => reject(new Error(`listener in ${host} exited (${code}): ${err}`)));
    });
  }

  /** A real TCP connect from one host to another's port. */
  async probe(from: string, to: string, port: number): Promise<ProbeResult> {
    return (await this.exec(this.host(from).ns, [process.execPath, '-e', PROBE, this.ip(to), String(port)])).trim();
  }

  /** Namespaces of this lab that still exist. */
  async namespaces(): Promise<string[]> {
    const list = await must('ip', ['netns', 'list']);
    return list
      .split('\n')
      .map((l) => l.split(' ')[0])
      .filter((n) => n.startsWith(this.prefix));
  }

  /** Stops the listeners and deletes every namespace (their veth links go with them). */
  async destroy(): Promise<void> {
    await Promise.all(
      this.listeners.map(
        (c) =>
          new Promise<void>((resolve) => {
            if (c.exitCode !== null || c.signalCode !== null) return resolve();
            c.once('exit', () => resolve());
            c.kill('SIGKILL');
          }),
      ),
    );
    for (const ns of await this.namespaces()) await must('ip', ['netns', 'del', ns]);
  }

  private host(name: string): { ns: string; ip: string } {
    const h = this.hosts.get(name);
    if (!h) throw new Error(`no host ${name} in the lab`);
    return h;
  }
}
