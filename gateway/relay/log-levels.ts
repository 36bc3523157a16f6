/** MCP logging levels (RFC 5424 severities) and the comparisons the gateway needs to filter by them. */

export const LOG_LEVELS = ['debug', 'info', 'notice', 'warning', 'error', 'critical', 'alert', 'emergency'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export function isLogLevel(v: unknown): v is LogLevel {
  return typeof v === 'string' && (LOG_LEVELS as readonly string[]).includes(v);
}

/** Whether a message at `level` passes a session that asked for `threshold` (unset passes everything). */
export function passes(level: unknown, threshold: LogLevel | undefined): boolean {
  if (threshold === undefined || !isLogLevel(level)) return true;
  return LOG_LEVELS.indexOf(level) >= LOG_LEVELS.indexOf(threshold);
}

/** The most verbose of the given levels, which a shared upstream must emit so every session gets its share. */
export function mostVerbose(levels: LogLevel[]): LogLevel | undefined {
  if (levels.length === 0) return undefined;
  return levels.reduce((a, b) => (LOG_LEVELS.indexOf(a) <= LOG_LEVELS.indexOf(b) ? a : b));
}
