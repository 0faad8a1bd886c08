import type { CommandModule } from 'yargs';
import { out, type GlobalArgs } from '../global.js';
import { cliRuntime } from '../cli-runtime.js';
import { InvalidArgumentError } from '../../errors.js';
import { statsJson } from '../../cgroups/index.js';

type Args = GlobalArgs & { id: string; stats: boolean; interval: string };

/** "5s", "500ms", "1m" → milliseconds. */
function parseDuration(v: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(v.trim());
  if (!m) throw new InvalidArgumentError(`--interval: invalid duration "${v}"`);
  const unit: Record<string, number> = { ms: 1, s: 1000, m: 60000, h: 3600000 };
  const ms = Number(m[1]) * unit[m[2] ?? 's'];
  if (ms <= 0) throw new InvalidArgumentError('--interval: must be positive');
  return ms;
}

export const eventsCommand: CommandModule<GlobalArgs, Args> = {
  command: 'events <id>',
  describe: 'print container events (stats every interval, oom) as JSON lines',
  builder: (y) =>
    y
      .positional('id', { type: 'string', demandOption: true })
      .option('stats', { type: 'boolean', default: false, describe: 'print the stats once and exit' })
      .option('interval', { type: 'string', default: '5s', describe: 'time between stats events' }) as never,
  handler: async (argv) => {
    const rt = cliRuntime(argv);
    if (argv.stats) {
      out(statsJson({ type: 'stats', id: argv.id, data: rt.stats(argv.id) }));
      return;
    }
    const interval = parseDuration(argv.interval);
    for await (const event of rt.events(argv.id, { intervalMs: interval })) out(statsJson(event));
  },
};
