import { existsSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { CommandModule } from 'yargs';
import { defaultSpec } from '../../spec/default.js';
import { InvalidArgumentError } from '../../errors.js';

export const specCommand: CommandModule<object, { bundle: string; rootless: boolean }> = {
  command: 'spec',
  describe: 'write a new config.json for a busybox-style bundle',
  builder: (y) =>
    y
      .option('bundle', { alias: 'b', type: 'string', default: '.', describe: 'where to write config.json' })
      .option('rootless', { type: 'boolean', default: false, describe: 'a config for a rootless container' }),
  handler: (argv) => {
    const file = join(resolve(argv.bundle), 'config.json');
    if (existsSync(file)) throw new InvalidArgumentError(`${file} already exists: remove it first`);
    writeFileSync(file, `${JSON.stringify(defaultSpec({ rootless: argv.rootless }), null, '\t')}\n`);
  },
};
