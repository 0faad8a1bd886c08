import type { CommandModule } from 'yargs';
import { out, type GlobalArgs } from '../global.js';
import { explainBundle, renderJson, renderText } from '../../explain/index.js';

export interface ExplainArgs extends GlobalArgs {
  bundle: string;
  format: 'text' | 'json';
  id?: string;
  'no-pivot': boolean;
  'no-new-keyring': boolean;
  'preserve-fds': number;
}

export const explainCommand: CommandModule<GlobalArgs, ExplainArgs> = {
  command: 'explain',
  describe: 'print, without running anything, every step create would carry out for a bundle',
  builder: (y) => y
    .option('bundle', { alias: 'b', type: 'string', default: '.', describe: 'bundle directory (holds config.json)' })
    .option('format', { alias: 'f', choices: ['text', 'json'] as const, default: 'text' as const, describe: 'json: the stable format of docs/EXPLAIN.md' })
    .option('id', { type: 'string', describe: 'container id to plan for (cgroup paths, keyring name)' })
    .option('no-pivot', { type: 'boolean', default: false, describe: 'plan as create --no-pivot would' })
    .option('no-new-keyring', { type: 'boolean', default: false, describe: 'plan as create --no-new-keyring would' })
    .option('preserve-fds', { type: 'number', default: 0, describe: 'plan as create --preserve-fds would' }) as never,
  handler: (argv) => {
    const doc = explainBundle({
      bundle: argv.bundle, id: argv.id, root: argv.root, noPivot: argv['no-pivot'], noNewKeyring: argv['no-new-keyring'],
      preserveFds: argv['preserve-fds'],
    });
    out(argv.format === 'json' ? renderJson(doc) : renderText(doc));
  },
};
