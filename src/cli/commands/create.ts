import type { CommandModule } from 'yargs';
import { cliRuntime, cliLogger, type GlobalArgs } from '../global.js';
import { traceReporter } from '../trace.js';

export interface CreateArgs extends GlobalArgs {
  id: string;
  bundle: string;
  'pid-file'?: string;
  'console-socket'?: string;
  'no-pivot': boolean;
  'no-new-keyring': boolean;
  'preserve-fds': number;
  trace: boolean;
}

export function createOptions(y: import('yargs').Argv<object>) {
  return y
    .positional('id', { type: 'string', demandOption: true, describe: 'container id' })
    .option('bundle', { alias: 'b', type: 'string', default: '.', describe: 'bundle directory (holds config.json)' })
    .option('pid-file', { type: 'string', describe: 'write the init pid to this file' })
    .option('console-socket', { type: 'string', describe: 'unix socket that receives the pty master' })
    .option('no-pivot', { type: 'boolean', default: false, describe: 'use MS_MOVE + chroot instead of pivot_root' })
    .option('no-new-keyring', { type: 'boolean', default: false, describe: 'keep the session keyring' })
    .option('preserve-fds', { type: 'number', default: 0, describe: 'pass fds 3..3+N-1 to the container' })
    .option('trace', { type: 'boolean', default: false, describe: 'report each setup step with its time' });
}

export function createArgsToOptions(argv: CreateArgs) {
  return {
    bundle: argv.bundle,
    pidFile: argv['pid-file'],
    consoleSocket: argv['console-socket'],
    noPivot: argv['no-pivot'],
    noNewKeyring: argv['no-new-keyring'],
    preserveFds: argv['preserve-fds'],
    trace: argv.trace,
    onTrace: argv.trace ? traceReporter(cliLogger(), { logFile: argv.log }) : undefined,
  };
}

export const createCommand: CommandModule<GlobalArgs, CreateArgs> = {
  command: 'create <id>',
  describe: 'create a container and park its init until start',
  builder: (y) => createOptions(y) as never,
  handler: async (argv) => {
    await cliRuntime(argv).create(argv.id, argv.bundle, createArgsToOptions(argv));
  },
};
