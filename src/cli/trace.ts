// --trace: one report per step as the init carries it out, with its own duration. On stderr as text,
// or, when --log is given, as JSON lines in the log file (the usual {"level","msg","time"} envelope
// plus a "trace" object; see docs/EXPLAIN.md). A failed step shows its errno name and a hint.
import { appendFileSync } from 'node:fs';
import { writeLine } from './write-line.js';
import type { TraceEvent } from '../lifecycle/create.js';
import type { Logger } from '../log.js';

export interface TraceReporterOptions {
  /** The --log file: trace lines go there as JSON instead of stderr. */
  logFile?: string;
  /** Where text lines go (default: stderr). */
  write?: (line: string) => void;
}

/** The JSON object of one trace line (docs/EXPLAIN.md, section `--trace`). */
export interface TraceRecord {
  index: number;
  op: string;
  field: string;
  result: 'ok' | 'failed';
  usec: number;
  errno: string | null;
  message: string | null;
  hint: string | null;
}

export function traceRecord(e: TraceEvent): TraceRecord {
  return {
    index: e.index,
    op: e.op,
    field: e.field,
    result: e.error ? 'failed' : 'ok',
    usec: e.usec,
    errno: e.error || null,
    message: e.message || null,
    hint: e.hint ?? null,
  };
}

export function traceText(e: TraceEvent): string {
  const head = `trace: #${String(e.index).padEnd(3)} ${e.op.padEnd(12)} ${e.field.padEnd(34)}`;
  if (!e.error) return `${head} ok ${e.usec}us`;
  const lines = [`${head} FAILED ${e.error}${e.message ? `: ${e.message}` : ''}`];
  if (e.hint) lines.push(`trace:      hint: ${e.hint}`);
  return lines.join('\n');
}

/** `_log` is the command's logger (kept for callers; trace lines have their own format). */
export function traceReporter(_log?: Logger, opts: TraceReporterOptions = {}): (e: TraceEvent) => void {
  if (opts.logFile) {
    const file = opts.logFile;
    return (e) => {
      const line = { level: 'info', msg: traceText(e).split('\n')[0], time: new Date().toISOString(), trace: traceRecord(e) };
      try {
        appendFileSync(file, `${JSON.stringify(line)}\n`);
      } catch {
        // Like the logger: an unwritable log must not fail the container.
      }
    };
  }
  const write = opts.write ?? ((line: string) => writeLine(2, line));
  return (e) => write(traceText(e));
}
