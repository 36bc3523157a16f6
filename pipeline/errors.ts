/**
 * The CLI side's errors: a string code for what is wrong with the request or the environment. Each
 * one is "bad input" to the CLI (one clear message, exit 2), as opposed to a phase that ran and
 * failed (exit 1).
 */
export type PipelineErrorCode = 'unknown-phase' | 'unknown-verb' | 'bad-usage' | 'bad-input' | 'temporal-missing' | 'temporal-unreachable' | 'docker-missing' | 'unknown-run' | 'no-gate' | 'no-worker';

export class PipelineError extends Error {
  readonly code: PipelineErrorCode;

  constructor(code: PipelineErrorCode, message: string, options: { cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.name = 'PipelineError';
    this.code = code;
  }
}
