// The full command line: every command, help and errors, parsed by yargs. main.ts comes here for
// anything the start-up fast path (fast-path.ts) does not take.
import yargs, { type Argv, type CommandModule } from 'yargs';
import { cliLogger, type GlobalArgs } from './global.js';
import { DEFAULT_ROOT } from '../state/store.js';
import { commands } from './commands/index.js';
import { endOptionsAtExecId } from './commands/exec.js';
import { globalArgs, versionText } from './fast-path.js';

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
    .option('systemd-cgroup', { type: 'boolean', default: false, describe: 'have systemd make each container\'s cgroup (a transient scope; cgroupsPath is "slice:prefix:name")' })
    .option('store', { type: 'string', describe: 'store for volumes, networks and images (default /var/lib/runt, or $RUNT_STORE)' })
    .middleware((argv) => { cliLogger(argv as unknown as GlobalArgs); })
    .help()
    .strict()
    .demandCommand(1, 'a command is required (see runt --help)')
    .fail((msg, err) => {
      throw err ?? new Error(msg);
    });
  // As in runc, -v/--version is a global flag: before the command only. After it, -v is the
  // command's own (run/create -v is --volume). Only --version needs the text (it loads the addon to
  // ask libseccomp its version).
  const before = globalArgs(args);
  const command = before.length < args.length;
  if (!command || before.some((a) => a === '--version' || a === '-v')) {
    cli = cli.version(before.some((a) => a === '--version' || a === '-v') ? versionText() : '').alias('version', 'v');
  } else {
    cli = cli.version(false);
  }
  for (const c of list) cli = cli.command(c as never);
  return cli as unknown as Argv;
}

