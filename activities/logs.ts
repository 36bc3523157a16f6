/**
 * debugging-tools: what a developer reads first when the stack misbehaves. The recent output of
 * every container of the project (docker logs), with the gateway's JSON log levels counted, and
 * the per-service log copies the entrypoint keeps in the shared log volume.
 */
import type { StepInput, StepResult } from '../pipeline/types';
import { docker, execText, projectContainers, stackOf } from './engine';
import { heartbeat } from './runtime';

/** Splits docker's multiplexed log stream (8-byte frame headers) into text; a TTY container's log is raw. */
export function demux(buf: Buffer): string {
  const parts: Buffer[] = [];
  let i = 0;
  while (i + 8 <= buf.length && buf[i] <= 2 && buf[i + 1] === 0 && buf[i + 2] === 0 && buf[i + 3] === 0) {
    const size = buf.readUInt32BE(i + 4);
    parts.push(buf.subarray(i + 8, i + 8 + size));
    i += 8 + size;
  }
  return i === 0 ? buf.toString('utf8') : Buffer.concat(parts).toString('utf8');
}

/** Counts pino levels (40 warn, 50 error, 60 fatal) in JSON log lines; keeps the last error messages. */
export function countLevels(text: string): { lines: number; warnings: number; errors: number; lastErrors: string[] } {
  const lines = text.split('\n').filter((l) => l.trim());
  let warnings = 0;
  const lastErrors: string[] = [];
  let errors = 0;
  for (const line of lines) {
    let level: unknown;
    let msg: unknown;
    try {
      ({ level, msg } = JSON.parse(line) as { level?: unknown; msg?: unknown });
    } catch {
      continue; // not a JSON log line (a server's own stderr)
    }
    if (typeof level !== 'number') continue;
    if (level >= 50) {
      errors += 1;
      lastErrors.push(String(msg ?? line).slice(0, 300));
    } else if (level >= 40) warnings += 1;
  }
  return { lines: lines.length, warnings, errors, lastErrors: lastErrors.slice(-5) };
}

/**
 * Reads the last params.tail (default 200) log lines of every container of the project (target)
 * and lists the log volume's files (params.logDir, default /var/log/mcp-fleet) from a running
 * container. Passed when every container's log could be read; errors found are in the details.
 */
export async function collectLogs(input: StepInput): Promise<StepResult> {
  const { project } = stackOf(input);
  const engine = await docker();
  const lines = Number(input.params.tail ?? 200);
  const containers = await projectContainers(project);
  if (containers.length === 0) return { outcome: 'failed', summary: `no containers in compose project ${project}; deploy it first`, details: { project } };
  const perContainer: Record<string, ReturnType<typeof countLevels>> = {};
  for (const c of containers) {
    heartbeat(`reading the log of ${c.Names[0]}`);
    const raw = await engine.getContainer(c.Id).logs({ stdout: true, stderr: true, tail: lines, follow: false });
    perContainer[c.Names[0].replace(/^\//, '')] = countLevels(demux(Buffer.from(raw)));
  }
  const logDir = String(input.params.logDir ?? '/var/log/mcp-fleet');
  const running = containers.find((c) => c.State === 'running' && c.Mounts.some((m) => m.Destination === logDir));
  const logFiles = running
    ? (await execText(running.Id, ['ls', logDir]))
        .split(/\s+/)
        .filter((f) => f.endsWith('.log'))
        .sort()
    : [];
  const errors = Object.values(perContainer).reduce((n, c) => n + c.errors, 0);
  const warnings = Object.values(perContainer).reduce((n, c) => n + c.warnings, 0);
  return {
    outcome: 'passed',
    summary: `read the logs of ${containers.length} containers of ${project}: ${errors} errors, ${warnings} warnings in the last ${lines} lines each; ${logFiles.length} log files in ${logDir}`,
    details: { project, containers: perContainer, logDir, logFiles },
  };
}
