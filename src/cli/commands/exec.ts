import { constants } from 'node:os';
import type { CommandModule } from 'yargs';
import { cliLogger, type GlobalArgs } from '../global.js';
import { cliRuntime } from '../cli-runtime.js';
import { processFromArgs } from '../../lifecycle/exec.js';
import { InvalidArgumentError } from '../../errors.js';
import { INT } from '../../spec/check.js';
import type { TerminalProxy } from '../../terminal/proxy.js';

export interface ExecCommandArgs extends GlobalArgs {
  id: string;
  command?: string[];
  process?: string;
  env?: string[];
  cwd?: string;
  user?: string;
  'additional-gids'?: Array<string | number>;
  cap?: string[];
  tty: boolean;
  detach: boolean;
  'pid-file'?: string;
  'console-socket'?: string;
  'pidfd-socket'?: string;
  cgroup?: string[];
  'no-new-privs': boolean;
  'preserve-fds': number;
  'ignore-paused': boolean;
  'process-label'?: string;
  apparmor?: string;
  trace: boolean;
}

// Signals runt passes on to a foreground process (SIGWINCH only when no pty proxy handles it).
const FORWARDED: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2', 'SIGCONT', 'SIGALRM'];
const SIGNALS = constants.signals as Record<string, number>;

export const execCommand: CommandModule<GlobalArgs, ExecCommandArgs> = {
  command: 'exec <id> [command..]',
  describe: 'run a process in a running container',
  builder: (y) =>
    y
      .positional('id', { type: 'string', demandOption: true, describe: 'container id' })
      .positional('command', { type: 'string', array: true, describe: 'command and arguments (unless --process)' })
      .option('process', { alias: 'p', type: 'string', describe: 'OCI process JSON file (replaces the command line options)' })
      .option('env', { alias: 'e', type: 'string', array: true, nargs: 1, describe: 'KEY=value added to the environment' })
      .option('cwd', { type: 'string', describe: 'working directory in the container' })
      .option('user', { alias: 'u', type: 'string', describe: 'uid[:gid]' })
      .option('additional-gids', { alias: 'g', type: 'string', array: true, nargs: 1, describe: 'additional group ids' })
      .option('cap', { alias: 'c', type: 'string', array: true, nargs: 1, describe: 'add a capability (CAP_NET_ADMIN or NET_ADMIN)' })
      .option('tty', { alias: 't', type: 'boolean', default: false, describe: 'allocate a pseudo-terminal' })
      .option('detach', { alias: 'd', type: 'boolean', default: false, describe: 'return once the process runs' })
      .option('pid-file', { type: 'string', describe: 'write the process pid to this file' })
      .option('console-socket', { type: 'string', describe: 'unix socket that receives the pty master' })
      .option('pidfd-socket', { type: 'string', describe: 'unix socket that receives a pidfd of the process' })
      .option('cgroup', {
        type: 'string',
        array: true,
        nargs: 1,
        describe: 'join this sub-cgroup of the container: PATH, or CONTROLLER[,CONTROLLER]:PATH (cgroup v1; repeatable)',
      })
      .option('no-new-privs', { type: 'boolean', default: false, describe: 'set no_new_privs for the process' })
      .option('preserve-fds', { type: 'number', default: 0, describe: 'pass fds 3..3+N-1 to the process' })
      .option('ignore-paused', { type: 'boolean', default: false, describe: 'exec even when the container is paused' })
      .option('process-label', { type: 'string', describe: 'SELinux label (refused: runt applies no SELinux labels)' })
      .option('apparmor', { type: 'string', describe: 'AppArmor profile (refused: runt applies no AppArmor profiles)' })
      .option('trace', { type: 'boolean', default: false, describe: 'report each setup step with its time' }) as never,
  handler: async (argv) => {
    const rt = cliRuntime(argv);
    const proc = argv.process
      ? (await import('../../spec/load.js')).loadProcessSpec(argv.process, { onWarning: (w) => cliLogger().warn(w.message) })
      : processFromArgs(rt.saved(argv.id).spec.process, {
          args: [...(argv.command ?? []), ...argv._.slice(1)].map(String),
          env: argv.env,
          cwd: argv.cwd,
          user: argv.user,
          additionalGids: argv['additional-gids']?.map(gidNumber),
          caps: argv.cap,
          tty: argv.tty,
          noNewPrivs: argv['no-new-privs'],
          apparmor: argv.apparmor,
          processLabel: argv['process-label'],
        });
    if (proc.terminal && argv.detach && !argv['console-socket']) {
      throw new InvalidArgumentError('cannot allocate a pseudo-terminal when runt detaches: give --console-socket');
    }

    // Loaded only when needed: every module costs start-up time, and engines exec in a loop.
    const proxyTerminal = proc.terminal && !argv['console-socket'] ? (await import('../../terminal/proxy.js')).proxyTerminal : undefined;
    const traceReporter = argv.trace ? (await import('../trace.js')).traceReporter : undefined;
    let proxy: TerminalProxy | undefined;
    let handle;
    try {
      handle = await rt.exec(argv.id, proc, {
        pidFile: argv['pid-file'],
        consoleSocket: argv['console-socket'],
        pidfdSocket: argv['pidfd-socket'],
        cgroup: argv.cgroup,
        preserveFds: argv['preserve-fds'],
        ignorePaused: argv['ignore-paused'],
        onTerminal:
          proxyTerminal &&
          ((fd) => {
            proxy = proxyTerminal(fd);
          }),
        trace: argv.trace,
        onTrace: traceReporter?.(cliLogger(), { logFile: argv.log }),
      });
    } catch (e) {
      proxy?.stop(); // the exec failed after the terminal step
      throw e;
    }
    if (argv.detach) return;

    const forward = (sig: NodeJS.Signals) => handle.kill(SIGNALS[sig]);
    const forwarded = proxy ? FORWARDED : [...FORWARDED, 'SIGWINCH' as const];
    for (const s of forwarded) process.on(s, forward);
    try {
      const result = await handle.wait();
      await proxy?.finish();
      process.exitCode = result.code ?? 128 + (SIGNALS[result.signal ?? ''] ?? 0);
    } finally {
      proxy?.stop();
      for (const s of forwarded) process.off(s, forward);
    }
  },
};

// Options of runt and of exec that take a value (the rest are booleans).
const GLOBAL_VALUE_OPTIONS = new Set(['--root', '--log', '--log-format']);
const EXEC_VALUE_OPTIONS = new Set([
  '--process',
  '-p',
  '--env',
  '-e',
  '--cwd',
  '--user',
  '-u',
  '--additional-gids',
  '-g',
  '--cap',
  '-c',
  '--pid-file',
  '--console-socket',
  '--pidfd-socket',
  '--cgroup',
  '--preserve-fds',
  '--process-label',
  '--apparmor',
]);

/** runc stops reading exec's options at the container id: `exec ID sh -c x` runs `sh -c x`. yargs
 *  reads options anywhere, so a `--` goes in after the id (unless the caller wrote one). */
export function endOptionsAtExecId(args: string[]): string[] {
  let i = 0;
  const skipOptions = (valued: Set<string>) => {
    while (i < args.length && args[i].startsWith('-') && args[i] !== '--') {
      const a = args[i];
      i += valued.has(a) ? 2 : 1;
    }
  };
  skipOptions(GLOBAL_VALUE_OPTIONS);
  if (args[i] !== 'exec') return args;
  i += 1;
  skipOptions(EXEC_VALUE_OPTIONS);
  if (i >= args.length || args[i] === '--' || args[i + 1] === '--' || i + 1 >= args.length) return args;
  return [...args.slice(0, i + 1), '--', ...args.slice(i + 1)];
}

function gidNumber(v: string | number): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > INT.id.max)
    throw new InvalidArgumentError(`--additional-gids: "${v}" is not a group id in 0..${INT.id.max}`);
  return n;
}
