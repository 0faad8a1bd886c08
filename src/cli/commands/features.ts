import type { CommandModule } from 'yargs';
import { out, type GlobalArgs } from '../global.js';
import { features } from '../../features.js';

export const featuresCommand: CommandModule<GlobalArgs, GlobalArgs> = {
  command: 'features',
  describe: 'print the OCI features document: what this build of runt implements',
  handler: () => {
    out(JSON.stringify(features(), null, '    '));
  },
};
