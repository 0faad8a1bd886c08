#!/usr/bin/env node
// runt's command line, shaped like runc's: engines call it the way they call runc.
import { cliLogger, type GlobalArgs } from './global.js';
import { runFastPath } from './fast-path.js';
import { globalOption } from './global-options.js';

// The commands engines call in a loop (state, start, kill, delete, create, run, exec) in their plain
// runc forms take the fast path: no yargs, only that command's modules. Everything else, help and
// errors included, goes to the full yargs CLI.
async function main(): Promise<void> {
  const args = process.argv.slice(2);
  if (
    await runFastPath(args, (argv) => {
      cliLogger(argv as unknown as GlobalArgs);
    })
  )
    return;
  const { runYargs } = await import('./yargs-cli.js');
  await runYargs(args);
}

main().catch((e: unknown) => {
  const msg = e instanceof Error ? e.message : String(e);
  // Read --log and --log-format again: a usage error ends the parse before they were applied, and
  // engines read the reason from the log file.
  cliLogger(globalLogArgs(process.argv.slice(2))).error(msg.split('\n')[0]);
  process.exitCode = 1;
});

/** --log, --log-format and --debug among the global options (those before the command). */
function globalLogArgs(args: string[]): Partial<GlobalArgs> {
  const out: Partial<GlobalArgs> = {};
  for (let i = 0; i < args.length && args[i].startsWith('-'); i++) {
    const [flag, inline] = args[i].includes('=')
      ? [args[i].slice(0, args[i].indexOf('=')), args[i].slice(args[i].indexOf('=') + 1)]
      : [args[i], undefined];
    const value = () => inline ?? args[++i];
    if (flag === '--log') out.log = value();
    else if (flag === '--log-format') out['log-format'] = value() === 'json' ? 'json' : 'text';
    else if (flag === '--debug') out.debug = true;
    else if (globalOption(flag)?.type === 'string' && inline === undefined) i++;
  }
  return out;
}
