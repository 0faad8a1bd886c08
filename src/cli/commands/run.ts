import type { CommandModule } from 'yargs';
import { cliRuntime, type GlobalArgs } from '../global.js';
import { createArgsToOptions, createOptions, type CreateArgs } from './create.js';
import { signalPid } from '../../lifecycle/kill.js';

const FORWARDED: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2', 'SIGWINCH', 'SIGCONT', 'SIGALRM'];

export const runCommand: CommandModule<GlobalArgs, CreateArgs & { detach: boolean; keep: boolean }> = {
  command: 'run <id>',
  describe: 'create and start a container; in the foreground, wait for it and exit with its status',
  builder: (y) => createOptions(y)
    .option('detach', { alias: 'd', type: 'boolean', default: false, describe: 'return once the container runs' })
    .option('keep', { type: 'boolean', default: false, describe: 'do not delete the container after it exits' }) as never,
  handler: async (argv) => {
    const rt = cliRuntime(argv);
    // run starts the container itself, so --trace can follow the init up to its exec.
    const c = await rt.create(argv.id, argv.bundle, { ...createArgsToOptions(argv), traceAfterStart: argv.trace });
    if (argv.detach) {
      await c.start();
      return;
    }
    const forward = (sig: NodeJS.Signals) => signalPid(c.pid, (require_signals()[sig]));
    for (const s of FORWARDED) process.on(s, forward);
    let result;
    try {
      await c.start();
      result = await c.wait();
    } catch (e) {
      await rt.delete(argv.id, { force: true }).catch(() => {});
      throw e;
    } finally {
      for (const s of FORWARDED) process.off(s, forward);
    }
    if (!argv.keep) await rt.delete(argv.id, { force: true });
    process.exitCode = result.code ?? 128 + (require_signals()[result.signal as NodeJS.Signals] ?? 0);
  },
};

import { constants } from 'node:os';
function require_signals(): Record<string, number> {
  return constants.signals as Record<string, number>;
}
