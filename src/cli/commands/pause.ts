import type { CommandModule } from 'yargs';
import { type GlobalArgs } from '../global.js';
import { cliRuntime } from '../cli-runtime.js';

type Args = GlobalArgs & { id: string };

export const pauseCommand: CommandModule<GlobalArgs, Args> = {
  command: 'pause <id>',
  describe: 'freeze every process of the container',
  builder: (y) => y.positional('id', { type: 'string', demandOption: true }) as never,
  handler: (argv) => cliRuntime(argv).pause(argv.id),
};

export const resumeCommand: CommandModule<GlobalArgs, Args> = {
  command: 'resume <id>',
  describe: 'thaw a paused container',
  builder: (y) => y.positional('id', { type: 'string', demandOption: true }) as never,
  handler: (argv) => cliRuntime(argv).resume(argv.id),
};
