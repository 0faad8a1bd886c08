// The full command line: every command, help and errors, parsed by yargs. main.ts comes here for
// anything the start-up fast path (fast-path.ts) does not take.
import yargs, { type Argv, type CommandModule, type Options } from 'yargs';
import { cliLogger, type GlobalArgs } from './global.js';
import { GLOBAL_OPTIONS } from './global-options.js';
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
    .options(yargsGlobalOptions())
    .middleware((argv) => {
      cliLogger(argv as unknown as GlobalArgs);
    })
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

/** The global flags (global-options.ts) as yargs options: a flag with choices has no `type`, as
 *  yargs shows it in help. */
function yargsGlobalOptions(): Record<string, Options> {
  return Object.fromEntries(
    Object.entries(GLOBAL_OPTIONS).map(([name, o]) => {
      const { type, ...rest } = o as { type: 'string' | 'boolean'; choices?: readonly string[] };
      return [name, rest.choices ? { ...rest, choices: [...rest.choices] } : { type, ...rest }];
    }),
  );
}
