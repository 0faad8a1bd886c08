import type { CommandModule } from 'yargs';
import { type GlobalArgs } from '../global.js';
import { cliRuntime } from '../cli-runtime.js';

export const startCommand: CommandModule<GlobalArgs, GlobalArgs & { id: string }> = {
  command: 'start <id>',
  describe: 'let a created container run its process',
  builder: (y) => y.positional('id', { type: 'string', demandOption: true }) as never,
  handler: async (argv) => {
    await cliRuntime(argv).start(argv.id);
  },
};
