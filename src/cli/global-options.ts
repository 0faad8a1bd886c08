// runc's global flags (plus --store), declared once: yargs-cli.ts registers them, fast-path.ts
// parses them without yargs, and main.ts reads --log, --log-format and --debug from them again
// after a usage error. Its own small module: the fast path must not load yargs or the runtime.
import { DEFAULT_ROOT } from '../state/store.js';

export interface GlobalOption {
  type: 'string' | 'boolean';
  default?: string | boolean;
  choices?: readonly string[];
  describe?: string;
}

export const GLOBAL_OPTIONS = {
  root: { type: 'string', default: DEFAULT_ROOT, describe: 'state directory' },
  log: { type: 'string', describe: 'log file' },
  'log-format': { type: 'string', choices: ['text', 'json'], default: 'text' },
  debug: { type: 'boolean', default: false },
  'systemd-cgroup': {
    type: 'boolean',
    default: false,
    describe: 'have systemd make each container\'s cgroup (a transient scope; cgroupsPath is "slice:prefix:name")',
  },
  store: { type: 'string', describe: 'store for volumes, networks and images (default /var/lib/runt, or $RUNT_STORE)' },
} as const satisfies Record<string, GlobalOption>;

export type GlobalOptionName = keyof typeof GLOBAL_OPTIONS;

/** The global flag `--name` is, if any. */
export function globalOption(flag: string): GlobalOption | undefined {
  if (!flag.startsWith('--')) return undefined;
  return (GLOBAL_OPTIONS as Record<string, GlobalOption>)[flag.slice(2)];
}
