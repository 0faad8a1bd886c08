import type { CommandModule } from 'yargs';
import { out, type GlobalArgs } from '../global.js';
import { cliRuntime } from '../cli-runtime.js';
import { InvalidArgumentError } from '../../errors.js';

type Args = GlobalArgs & { id: string; format: string; psArgs?: string[] };

export const psCommand: CommandModule<GlobalArgs, Args> = {
  command: 'ps <id> [psArgs..]',
  describe: 'list the processes in a container (table: ps output filtered to them; json: pids)',
  builder: (y) =>
    y
      .positional('id', { type: 'string', demandOption: true })
      .positional('psArgs', { type: 'string', array: true, describe: 'arguments for ps (default -ef)' })
      .option('format', { alias: 'f', choices: ['table', 'json'], default: 'table' })
      .parserConfiguration({ 'unknown-options-as-args': true }) as never,
  handler: (argv) => {
    const pids = cliRuntime(argv).pids(argv.id);
    if (argv.format === 'json') {
      out(JSON.stringify(pids));
      return;
    }
    // Like runc: the table comes from the system's ps, filtered to the container's pids.
    const args = argv.psArgs?.length ? argv.psArgs.map(String) : ['-ef'];
    // node:child_process only here: yargs loads every command's module for any command it runs.
    const ps = process.getBuiltinModule('node:child_process').spawnSync('ps', args, { encoding: 'utf8' });
    if (ps.status !== 0) throw new InvalidArgumentError(`ps ${args.join(' ')}: ${(ps.stderr || ps.error?.message || '').trim()}`);
    const lines = ps.stdout.split('\n');
    const col = lines[0].trim().split(/\s+/).indexOf('PID');
    if (col < 0) throw new InvalidArgumentError(`ps ${args.join(' ')}: no PID column in its output`);
    const wanted = new Set(pids);
    out(lines[0]);
    for (const line of lines.slice(1)) {
      const pid = Number(line.trim().split(/\s+/)[col]);
      if (wanted.has(pid)) out(line);
    }
  },
};
