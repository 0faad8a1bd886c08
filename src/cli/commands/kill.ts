import type { CommandModule } from 'yargs';
import { type GlobalArgs } from '../global.js';
import { cliRuntime } from '../cli-runtime.js';

export const killCommand: CommandModule<GlobalArgs, GlobalArgs & { id: string; signal?: string; all: boolean }> = {
  command: 'kill <id> [signal]',
  describe: 'send a signal (default SIGTERM) to the container init',
  builder: (y) =>
    y
      .positional('id', { type: 'string', demandOption: true })
      .positional('signal', { type: 'string', describe: 'name (KILL, SIGKILL) or number' })
      .option('all', { alias: 'a', type: 'boolean', default: false, describe: 'signal every process in the container' }) as never,
  handler: (argv) => {
    cliRuntime(argv).kill(argv.id, argv.signal ?? 'SIGTERM', { all: argv.all });
  },
};
