import type { CommandModule } from 'yargs';
import { cliLogger, type GlobalArgs } from '../global.js';
import { cliRuntime } from '../cli-runtime.js';
import { createArgsToOptions, createOptions, createTarget, type CreateArgs } from './create.js';
import { signalPid } from '../../lifecycle/kill.js';
import { native } from '../../native.js';
import type { TerminalProxy } from '../../terminal/proxy.js';

// SIGWINCH too, unless runt proxies the container's pty (then the pty's size changes instead).
const FORWARDED: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2', 'SIGCONT', 'SIGALRM'];

export const runCommand: CommandModule<GlobalArgs, CreateArgs & { detach: boolean; keep: boolean; 'no-subreaper': boolean }> = {
  command: 'run <id> [args..]',
  describe: 'create and start a container; in the foreground, wait for it and exit with its status',
  builder: (y) =>
    createOptions(y)
      .option('detach', { alias: 'd', type: 'boolean', default: false, describe: 'return once the container runs' })
      .option('keep', { type: 'boolean', default: false, describe: 'do not delete the container after it exits' })
      .option('no-subreaper', {
        type: 'boolean',
        default: false,
        describe: "do not become the subreaper of the container's orphaned processes",
      }) as never,
  handler: async (argv) => {
    const rt = cliRuntime(argv);
    // As runc does, a foreground run is the child subreaper of what the container leaves behind (a
    // process that double-forks without a PID namespace of its own): orphans come to runt, not to the
    // host's init, and go with it.
    if (!argv.detach && !argv['no-subreaper']) native().setSubreaper();
    // run starts the container itself, so --trace can follow the init up to its exec.
    // In the foreground without --console-socket runt is the container's terminal (process.terminal).
    // The proxy module (node:tty, and with it every stream module) loads only when there is a pty:
    // the pty keeps what the container writes until the proxy reads it.
    let proxy: TerminalProxy | undefined;
    let proxyReady: Promise<void> | undefined;
    const onTerminal = argv.detach
      ? undefined
      : (fd: number) => {
          proxyReady = import('../../terminal/proxy.js').then((m) => {
            proxy = m.proxyTerminal(fd);
          });
        };
    let c;
    try {
      const target = createTarget(argv);
      c = await rt.create(
        argv.id,
        typeof target === 'string'
          ? target
          : { ...target, traceAfterStart: argv.trace, onTerminal, onLateError: argv.detach ? undefined : (m) => cliLogger().error(m) },
        {
          ...createArgsToOptions(argv),
          traceAfterStart: argv.trace,
          onTerminal,
          onLateError: argv.detach ? undefined : (m) => cliLogger().error(m),
        },
      );
      await proxyReady;
    } catch (e) {
      await proxyReady?.catch(() => {});
      proxy?.stop(); // create failed after the terminal step
      throw e;
    }
    if (argv.detach) {
      await c.start();
      native().detachStdio();
      return;
    }
    const forward = (sig: NodeJS.Signals) => signalPid(c.pid, require_signals()[sig]);
    const forwarded = proxy ? FORWARDED : [...FORWARDED, 'SIGWINCH' as const];
    for (const s of forwarded) process.on(s, forward);
    let result;
    try {
      await c.start();
      result = await c.wait();
      await proxy?.finish();
    } catch (e) {
      await rt.delete(argv.id, { force: true }).catch(() => {});
      throw e;
    } finally {
      proxy?.stop();
      for (const s of forwarded) process.off(s, forward);
    }
    if (!argv.keep) await rt.delete(argv.id, { force: true });
    process.exitCode = result.code ?? 128 + (require_signals()[result.signal as NodeJS.Signals] ?? 0);
  },
};

import { constants } from 'node:os';
function require_signals(): Record<string, number> {
  return constants.signals as Record<string, number>;
}
