/**
 * A copy of what the gateway writes out (log lines, metrics scrapes, the CLI's error lines, the
 * JSON-RPC errors it sends to clients and servers) for the test run's secret scan:
 * scripts/run-jest.js names a directory in MCP_FLEET_OUTPUT_TAP, every gateway of the run (in the
 * jest workers and in the processes they spawn) appends there, and test/secret-scan/ searches it
 * for the test secrets afterwards. With the variable unset (any real
 * deployment) nothing is written and nothing is opened.
 *
 * The tap receives the text exactly as the gateway emits it, after redaction, so it holds nothing
 * that the gateway's own output does not. Each process appends to `<kind>-<pid>-<id>.log` (the id
 * tells apart the module's loads in one process: jest loads it afresh for each test file), at most
 * MAX_TAP_BYTES per file: past that one `{"tap":"truncated"}` line ends the file, and the scan
 * reports the file as not fully scanned, so a chatty test cannot fill the disk unnoticed.
 */
import { randomBytes } from 'node:crypto';
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { tapWireErrors } from './protocol/errors';

export const OUTPUT_TAP_VAR = 'MCP_FLEET_OUTPUT_TAP';
export const MAX_TAP_BYTES = 256 * 1024 * 1024;
export const TAP_TRUNCATED = '{"tap":"truncated"}\n';

export type TapKind = 'log' | 'metrics' | 'stderr' | 'errors';

/** Tells apart the loads of this module in one process; drawn when the tap is first used. */
let loadId: string | undefined;
/** Bytes written to each tap file of this load of the module. */
const written = new Map<string, number>();

/** A writer that appends to this process's `kind` tap file, or undefined when the tap is off. */
export function outputTap(kind: TapKind): ((text: string) => void) | undefined {
  const dir = process.env[OUTPUT_TAP_VAR];
  if (!dir) return undefined;
  loadId ??= randomBytes(4).toString('hex');
  const file = join(dir, `${kind}-${process.pid}-${loadId}.log`);
  return (text) => append(file, text);
}

function append(file: string, text: string): void {
  const size = written.get(file) ?? 0;
  if (size >= MAX_TAP_BYTES) return;
  const fits = size + Buffer.byteLength(text) <= MAX_TAP_BYTES;
  try {
    appendFileSync(file, fits ? text : TAP_TRUNCATED);
  } catch {
    // the test run removed its tap directory: nothing is left to scan
  }
  written.set(file, fits ? size + Buffer.byteLength(text) : MAX_TAP_BYTES);
}

// Every gateway loads this module (through its logger), so under the tap its JSON-RPC errors are copied from the start.
const errorTap = outputTap('errors');
if (errorTap)
  tapWireErrors((error) => {
    let line: string;
    try {
      line = JSON.stringify(error);
    } catch {
      line = '{"tap":"an error JSON cannot write"}'; // the gateway's own answer fails the same way; the tap must not throw first
    }
    errorTap(`${line}\n`);
  });
