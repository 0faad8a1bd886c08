#!/usr/bin/env node
// runt's command line, shaped like runc's: engines call it the way they call runc.
import { cliLogger, type GlobalArgs } from './global.js';
import { runFastPath } from './fast-path.js';

// The commands engines call in a loop (state, start, kill, delete, create, run, exec) in their plain
// runc forms take the fast path: no yargs, only that command's modules. Everything else, help and
// errors included, goes to the full yargs CLI.
async function main(): Promise<void> {
  const args = process.argv.slice(2);
  if (await runFastPath(args, (argv) => { cliLogger(argv as unknown as GlobalArgs); })) return;
  const { runYargs } = await import('./yargs-cli.js');
  await runYargs(args);
}

main().catch((e: unknown) => {
  const msg = e instanceof Error ? e.message : String(e);
  cliLogger().error(msg.split('\n')[0]);
  process.exitCode = 1;
});
