import type { CommandModule } from 'yargs';
import { out, type GlobalArgs } from '../global.js';
import { explainBundle, renderJson, renderText } from '../../explain/index.js';
import { attachmentOptions, commandWords, entrypointOf } from './create.js';

export interface ExplainArgs extends GlobalArgs {
  bundle: string;
  format: 'text' | 'json';
  id?: string;
  'no-pivot': boolean;
  'no-new-keyring': boolean;
  'preserve-fds': number;
  image?: string;
  entrypoint?: string;
  args?: string[];
  volume?: string[];
  tmpfs?: string[];
  network?: string[];
  publish?: string[];
  ip?: string;
  'cni-path'?: string;
}

export const explainCommand: CommandModule<GlobalArgs, ExplainArgs> = {
  command: 'explain [args..]',
  describe: 'print, without running anything, every step create would carry out for a bundle',
  builder: (y) =>
    y
      .option('bundle', { alias: 'b', type: 'string', default: '.', describe: 'bundle directory (holds config.json)' })
      .option('format', {
        alias: 'f',
        choices: ['text', 'json'] as const,
        default: 'text' as const,
        describe: 'json: the stable format of docs/EXPLAIN.md',
      })
      .option('id', { type: 'string', describe: 'container id to plan for (cgroup paths, keyring name)' })
      .option('no-pivot', { type: 'boolean', default: false, describe: 'plan as create --no-pivot would' })
      .option('no-new-keyring', { type: 'boolean', default: false, describe: 'plan as create --no-new-keyring would' })
      .option('preserve-fds', { type: 'number', default: 0, describe: 'plan as create --preserve-fds would' })
      .option('image', { type: 'string', describe: 'plan a container of this image (in the store) instead of a bundle' })
      .option('entrypoint', { type: 'string', describe: 'with --image: as run --entrypoint' })
      .positional('args', { type: 'string', array: true, describe: 'with --image: the command, as for run' })
      .option('volume', { alias: 'v', type: 'string', array: true, nargs: 1, describe: 'plan as run -v would' })
      .option('tmpfs', { type: 'string', array: true, nargs: 1, describe: 'plan as run --tmpfs would' })
      .option('network', { alias: 'net', type: 'string', array: true, nargs: 1, describe: 'plan as run --network would (the CNI calls)' })
      .option('publish', { alias: 'p', type: 'string', array: true, nargs: 1, describe: 'plan as run -p would' })
      .option('ip', { type: 'string', describe: 'plan as run --ip would' })
      .option('cni-path', { type: 'string', describe: 'directories holding the CNI plugins' }) as never,
  handler: async (argv) => {
    const words = commandWords(argv);
    if (argv.image) {
      const [{ explainImage, renderImageText }, { ImageStore }, { storeRoot }] = await Promise.all([
        import('../../image/explain.js'),
        import('../../image/store.js'),
        import('../../store-root.js'),
      ]);
      const img = explainImage(new ImageStore(storeRoot(argv.store)), argv.image, argv.id ?? 'explain', {
        args: words.length ? words : undefined,
        entrypoint: entrypointOf(argv.entrypoint),
      });
      const doc = explainBundle({
        spec: img.spec,
        bundle: img.bundle,
        id: argv.id,
        root: argv.root,
        noPivot: argv['no-pivot'],
        noNewKeyring: argv['no-new-keyring'],
        preserveFds: argv['preserve-fds'],
        ...attachments(argv),
      });
      const { spec: _spec, bundle: _bundle, ...image } = img;
      out(argv.format === 'json' ? `${JSON.stringify({ image, ...doc }, null, 2)}\n` : `${renderImageText(img)}\n${renderText(doc)}`);
      return;
    }
    if (words.length) throw new Error(`unexpected arguments: ${words.join(' ')} (a command is given only with --image)`);
    const doc = explainBundle({
      bundle: argv.bundle,
      id: argv.id,
      root: argv.root,
      noPivot: argv['no-pivot'],
      noNewKeyring: argv['no-new-keyring'],
      preserveFds: argv['preserve-fds'],
      ...attachments(argv),
    });
    out(argv.format === 'json' ? renderJson(doc) : renderText(doc));
  },
};

/** -v, --tmpfs, --network, -p, --ip as run/create take them. */
function attachments(argv: ExplainArgs) {
  return { ...attachmentOptions(argv), store: argv.store };
}
