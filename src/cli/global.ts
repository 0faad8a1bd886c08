// The objects built from the options every command accepts (runc's global flags, declared in
// global-options.ts).
import { createLogger, type Logger } from '../log.js';
import { Runtime } from '../runtime.js';
import { DEFAULT_ROOT } from '../state/store.js';
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

export function cliRuntime(argv: GlobalArgs): Runtime {
  return new Runtime({
    root: argv.root ?? DEFAULT_ROOT,
    store: argv.store,
    logger: cliLogger(),
    cgroupManager: argv['systemd-cgroup'] ? 'systemd' : 'cgroupfs',
  });
}

/** Print one line to stdout without buffering surprises. */
export function out(text: string): void {
  writeLine(1, text);
}
