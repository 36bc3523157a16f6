/**
 * How a command that started things (containers, networks, processes, a compose stack) stops
 * when it is told to: SIGINT (Ctrl-C), SIGTERM or SIGHUP (the terminal went away) runs every
 * registered cleanup once, newest first, then exits. And output that cannot break a teardown: once
 * the reader of stdout or stderr is gone (`npm start | tee log`, then Ctrl-C: EPIPE; a closed
 * terminal: EIO) what is written there is dropped instead of throwing from the stream.
 *
 * Exit codes after a signal: 128 + the signal's number (130 SIGINT, 143 SIGTERM, 129 SIGHUP) when
 * every cleanup finished, printed or not; 1 when a cleanup failed (its error goes to stderr, if
 * stderr still has a reader).
 */
import { constants } from 'node:os';

export const TERMINATION_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
export type TerminationSignal = (typeof TERMINATION_SIGNALS)[number];
export type TerminationCleanup = (signal: TerminationSignal) => Promise<void> | void;

const cleanups: TerminationCleanup[] = [];
let stopping: TerminationSignal | undefined;
let guarded = false;
const lost = new Set<NodeJS.WritableStream>();

/**
 * Runs `cleanup` when one of the three signals arrives, then exits (see the header for the code).
 * Returns the function that takes it off again (when the command finished on its own). A repeated
 * signal while the cleanups run is ignored: they finish, so nothing is left behind.
 */
export function onTermination(cleanup: TerminationCleanup): () => void {
  guardOutput();
  if (cleanups.length === 0 && !stopping) for (const s of TERMINATION_SIGNALS) process.on(s, terminate);
  cleanups.push(cleanup);
  return () => {
    const i = cleanups.indexOf(cleanup);
    if (i !== -1) cleanups.splice(i, 1);
    if (cleanups.length === 0 && !stopping) for (const s of TERMINATION_SIGNALS) process.off(s, terminate);
  };
}

function terminate(signal: TerminationSignal): void {
  if (stopping) return;
  stopping = signal;
  void (async () => {
    let failed = false;
    for (const cleanup of cleanups.splice(0).reverse()) {
      try {
        await cleanup(signal);
      } catch (err) {
        failed = true;
        safeWrite(process.stderr, `cleanup after ${signal} failed: ${(err as Error).message}\n`);
      }
    }
    process.exit(failed ? 1 : 128 + constants.signals[signal]);
  })();
}

/** True once a signal began the cleanups: the process exits when they finish, nobody else should. */
export function terminating(): boolean {
  return stopping !== undefined;
}

/**
 * Writes `text` unless the stream's reader is gone; never throws and never lets the stream throw
 * later (EPIPE arrives as an 'error' event after the write). Returns false when it was dropped.
 */
export function safeWrite(stream: NodeJS.WritableStream, text: string): boolean {
  guardOutput();
  if (lost.has(stream) || (stream as { destroyed?: boolean }).destroyed) return false;
  try {
    stream.write(text, () => {});
    return true;
  } catch {
    lost.add(stream);
    return false;
  }
}

/** True once something written to stdout or stderr found no reader. */
export function outputLost(): boolean {
  return lost.size > 0;
}

/**
 * Installs, once, the 'error' listeners that keep a failed stdout or stderr from becoming an
 * uncaught exception (console.log included). Whatever the error, a teardown matters more than
 * its log lines.
 */
export function guardOutput(): void {
  if (guarded) return;
  guarded = true;
  for (const stream of [process.stdout, process.stderr]) stream.on('error', () => lost.add(stream));
}
