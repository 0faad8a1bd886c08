// Runtime logging the way engines read it: `--log FILE` with `--log-format text|json`; JSON lines are
// {"level","msg","time"} and engines take the last error line as the failure reason.
import { appendFileSync } from 'node:fs';

export type LogLevel = 'debug' | 'info' | 'warning' | 'error';

export interface Logger {
  debug(msg: string): void;
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
  /** Whether debug lines are kept (callers skip building expensive messages otherwise). */
  readonly debugEnabled: boolean;
}

export interface LoggerOptions {
  file?: string;
  format?: 'text' | 'json';
  debug?: boolean;
  /** Where warnings and errors go besides the file (default: stderr). */
  stderr?: (line: string) => void;
}

export function createLogger(opts: LoggerOptions = {}): Logger {
  const format = opts.format ?? 'text';
  const toStderr = opts.stderr ?? ((line: string) => process.stderr.write(`${line}\n`));
  const write = (level: LogLevel, msg: string) => {
    if (level === 'debug' && !opts.debug) return;
    const time = new Date().toISOString();
    if (opts.file) {
      const line = format === 'json' ? JSON.stringify({ level, msg, time }) : `time="${time}" level=${level} msg=${JSON.stringify(msg)}`;
      try {
        appendFileSync(opts.file, `${line}\n`);
      } catch {
        // A log file we cannot write must not turn a working command into a failing one.
      }
    }
    if (level === 'error' || level === 'warning' || (!opts.file && opts.debug)) toStderr(level === 'error' ? msg : `${level}: ${msg}`);
  };
  return {
    debug: (m) => write('debug', m),
    info: (m) => write('info', m),
    warn: (m) => write('warning', m),
    error: (m) => write('error', m),
    debugEnabled: opts.debug === true,
  };
}

export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {}, debugEnabled: false };
