#!/usr/bin/env node
// runt's command line, shaped like runc's: engines call it the way they call runc.
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { readFileSync } from 'node:fs';
import { cliLogger, type GlobalArgs } from './global.js';
import { DEFAULT_ROOT } from '../state/store.js';
import { commands } from './commands/index.js';
import { endOptionsAtExecId } from './commands/exec.js';

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
  return `runt version ${pkg.version}\nspec: 1.2.0\nlibseccomp: 2.5`;
}

async function main(): Promise<void> {
  let cli = yargs(endOptionsAtExecId(hideBin(process.argv)))
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
    .version(version())
    .alias('version', 'v')
    .help()
    .strict()
    .demandCommand(1, 'a command is required (see runt --help)')
    .fail((msg, err) => {
      throw err ?? new Error(msg);
    });
  for (const c of commands) cli = cli.command(c as never);
  await cli.parseAsync();
}

main().catch((e: unknown) => {
  const msg = e instanceof Error ? e.message : String(e);
  cliLogger().error(msg.split('\n')[0]);
  process.exitCode = 1;
});
