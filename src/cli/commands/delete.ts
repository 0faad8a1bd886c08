import type { CommandModule } from 'yargs';
import { type GlobalArgs } from '../global.js';
import { cliRuntime } from '../cli-runtime.js';

export const deleteCommand: CommandModule<GlobalArgs, GlobalArgs & { id: string; force: boolean }> = {
  command: 'delete <id>',
  describe: 'remove a stopped (or, with --force, any) container',
  builder: (y) =>
    y
      .positional('id', { type: 'string', demandOption: true })
      .option('force', { alias: 'f', type: 'boolean', default: false, describe: 'kill it first if it still runs' }) as never,
  handler: async (argv) => {
    await cliRuntime(argv).delete(argv.id, { force: argv.force });
  },
};
