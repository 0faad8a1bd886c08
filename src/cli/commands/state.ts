import type { CommandModule } from 'yargs';
import { out, type GlobalArgs } from '../global.js';
import { cliRuntime } from '../cli-runtime.js';

export const stateCommand: CommandModule<GlobalArgs, GlobalArgs & { id: string }> = {
  command: 'state <id>',
  describe: 'print the OCI state of a container as JSON',
  builder: (y) => y.positional('id', { type: 'string', demandOption: true }) as never,
  handler: (argv) => {
    out(JSON.stringify(cliRuntime(argv).state(argv.id), null, '  '));
  },
};
