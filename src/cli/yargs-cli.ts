// The full command line: every command, help and errors, parsed by yargs. main.ts comes here for
// anything the start-up fast path (fast-path.ts) does not take.
import yargs, { type Argv, type CommandModule } from 'yargs';
import { cliLogger, type GlobalArgs } from './global.js';
import { DEFAULT_ROOT } from '../state/store.js';
import { commands } from './commands/index.js';
import { endOptionsAtExecId } from './commands/exec.js';
import { versionText } from './fast-path.js';

export async function runYargs(args: string[]): Promise<void> {
  await buildCli(args, commands as never).parseAsync();
}

/** The yargs parser for args with these commands (tests swap the handlers to read the argv). */
export function buildCli(args: string[], list: readonly CommandModule<never, never>[]): Argv {
  let cli = yargs(endOptionsAtExecId(args))
    .scriptName('runt')
    // runc's flags are named --no-pivot, --no-new-keyring, --no-new-privs: not negations.
    .parserConfiguration({ 'boolean-negation': false })
    .usage('$0 [global options] <command> [options]')
    .option('root', { type: 'string', default: DEFAULT_ROOT, describe: 'state directory' })
    .option('log', { type: 'string', describe: 'log file' })
    .option('log-format', { choices: ['text', 'json'] as const, default: 'text' as const })
    .option('debug', { type: 'boolean', default: false })
    .option('systemd-cgroup', { type: 'boolean', default: false, describe: 'use systemd for cgroups (not supported yet)' })
    .middleware((argv) => { cliLogger(argv as unknown as GlobalArgs); })
    // Only --version needs the text (it loads the addon to ask libseccomp its version).
    .version(args.some((a) => a === '--version' || a === '-v') ? versionText() : '')
    .alias('version', 'v')
    .help()
    .strict()
    .demandCommand(1, 'a command is required (see runt --help)')
    .fail((msg, err) => {
      throw err ?? new Error(msg);
    });
  for (const c of list) cli = cli.command(c as never);
  return cli as unknown as Argv;
}
