// The objects built from the options every command accepts (runc's global flags, declared in
// global-options.ts); the Runtime is built in cli-runtime.ts, so that commands which need none (image
// pull, ls) do not load the library's lifecycle, cgroup and volume code.
import { createLogger, type Logger } from '../log.js';
import { writeLine } from './write-line.js';

export interface GlobalArgs {
  root: string;
  log?: string;
  'log-format': 'text' | 'json';
  debug: boolean;
  'systemd-cgroup': boolean;
  /** --store: volumes, networks, images (src/store-root.ts). */
  store?: string;
}

let logger: Logger | undefined;

export function cliLogger(argv?: Partial<GlobalArgs>): Logger {
  if (!logger || argv) {
    logger = createLogger({
      file: argv?.log,
      format: argv?.['log-format'] ?? 'text',
      debug: argv?.debug ?? false,
      stderr: (line) => writeLine(2, line),
    });
  }
  return logger;
}

/** Print one line to stdout without buffering surprises. */
export function out(text: string): void {
  writeLine(1, text);
}
