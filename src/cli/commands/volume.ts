import type { CommandModule } from 'yargs';
import { out, type GlobalArgs } from '../global.js';
import { cliRuntime } from '../cli-runtime.js';
import { tableLines } from '../table.js';
import { RuntError } from '../../errors.js';

type Args = GlobalArgs & { name?: string; names?: string[]; label?: string[]; format?: string; quiet?: boolean; force?: boolean };

function labels(list: string[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const l of list ?? []) {
    const i = l.indexOf('=');
    if (i <= 0) throw new RuntError('EINVALID_ARGUMENT', `--label ${l}: expected KEY=VALUE`);
    out[l.slice(0, i)] = l.slice(i + 1);
  }
  return out;
}

const create: CommandModule<GlobalArgs, Args> = {
  command: 'create <name>',
  describe: 'create a named volume (<store>/volumes/NAME/_data)',
  builder: (y) =>
    y
      .positional('name', { type: 'string', demandOption: true })
      .option('label', { type: 'string', array: true, nargs: 1, describe: 'KEY=VALUE' }) as never,
  handler: (argv) => {
    out(cliRuntime(argv).volumes.create(argv.name!, { labels: labels(argv.label) }).name);
  },
};

const ls: CommandModule<GlobalArgs, Args> = {
  command: 'ls',
  aliases: ['list'],
  describe: 'list volumes',
  builder: (y) =>
    y
      .option('format', { alias: 'f', choices: ['table', 'json'], default: 'table' })
      .option('quiet', { alias: 'q', type: 'boolean', default: false, describe: 'names only' }) as never,
  handler: (argv) => {
    const all = cliRuntime(argv).volumes.list();
    if (argv.format === 'json') return out(JSON.stringify(all));
    if (argv.quiet) return all.forEach((v) => out(v.name));
    const rows = [['NAME', 'CONTAINERS', 'CREATED'], ...all.map((v) => [v.name, v.containers.join(',') || '-', v.created])];
    for (const line of tableLines(rows)) out(line);
  },
};

const inspect: CommandModule<GlobalArgs, Args> = {
  command: 'inspect <names..>',
  describe: 'show volumes as JSON',
  builder: (y) => y.positional('names', { type: 'string', array: true, demandOption: true }) as never,
  handler: (argv) => {
    const rt = cliRuntime(argv);
    out(
      JSON.stringify(
        argv.names!.map((n) => rt.volumes.inspect(n)),
        null,
        2,
      ),
    );
  },
};

const rm: CommandModule<GlobalArgs, Args> = {
  command: 'rm <names..>',
  aliases: ['remove'],
  describe: 'remove volumes (refused while a container uses one)',
  builder: (y) => y.positional('names', { type: 'string', array: true, demandOption: true }) as never,
  handler: (argv) => {
    const rt = cliRuntime(argv);
    for (const n of argv.names!) {
      rt.volumes.remove(n);
      out(n);
    }
  },
};

const prune: CommandModule<GlobalArgs, Args> = {
  command: 'prune',
  describe: 'remove every volume no container uses',
  handler: (argv) => {
    for (const n of cliRuntime(argv).volumes.prune()) out(n);
  },
};

export const volumeCommand: CommandModule<GlobalArgs, GlobalArgs> = {
  command: 'volume <command>',
  describe: 'manage named volumes (create, ls, inspect, rm, prune)',
  builder: (y) =>
    y
      .command(create as never)
      .command(ls as never)
      .command(inspect as never)
      .command(rm as never)
      .command(prune as never)
      .demandCommand(1) as never,
  handler: () => {},
};
