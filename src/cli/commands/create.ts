import type { CommandModule } from 'yargs';
import { cliLogger, type GlobalArgs } from '../global.js';
import { cliRuntime } from '../cli-runtime.js';
import { traceReporter } from '../trace.js';
import { writeLine } from '../write-line.js';
import { InvalidArgumentError } from '../../errors.js';
import type { ImageCreateOptions } from '../../runtime.js';

export interface CreateArgs extends GlobalArgs {
  id: string;
  bundle: string;
  'pid-file'?: string;
  'console-socket'?: string;
  'pidfd-socket'?: string;
  'no-pivot': boolean;
  'no-new-keyring': boolean;
  'preserve-fds': number;
  trace: boolean;
  volume?: string[];
  tmpfs?: string[];
  network?: string[];
  publish?: string[];
  ip?: string;
  'cni-path'?: string;
  image?: string;
  args?: string[];
  entrypoint?: string;
  insecure: boolean;
}

export function createOptions(y: import('yargs').Argv<object>) {
  return y
    .positional('id', { type: 'string', demandOption: true, describe: 'container id' })
    .option('bundle', { alias: 'b', type: 'string', default: '.', describe: 'bundle directory (holds config.json)' })
    .option('pid-file', { type: 'string', describe: 'write the init pid to this file' })
    .option('console-socket', { type: 'string', describe: 'unix socket that receives the pty master' })
    .option('pidfd-socket', { type: 'string', describe: 'unix socket that receives a pidfd of the container init' })
    .option('no-pivot', { type: 'boolean', default: false, describe: 'use MS_MOVE + chroot instead of pivot_root' })
    .option('no-new-keyring', { type: 'boolean', default: false, describe: 'keep the session keyring' })
    .option('preserve-fds', { type: 'number', default: 0, describe: 'pass fds 3..3+N-1 to the container' })
    .option('trace', { type: 'boolean', default: false, describe: 'report each setup step with its time' })
    .option('volume', {
      alias: 'v',
      type: 'string',
      array: true,
      nargs: 1,
      describe: 'NAME:/path[:ro], /host/dir:/path[:ro] or /path (anonymous); nocopy skips the copy-up',
    })
    .option('tmpfs', { type: 'string', array: true, nargs: 1, describe: 'mount a tmpfs: /path[:options]' })
    .option('network', {
      alias: 'net',
      type: 'string',
      array: true,
      nargs: 1,
      describe: 'join CNI networks: NAME[,NAME...] (runt: the default network)',
    })
    .option('publish', { alias: 'p', type: 'string', array: true, nargs: 1, describe: 'publish a port: HOSTPORT:PORT[/tcp|udp]' })
    .option('ip', { type: 'string', describe: 'the address on the first network' })
    .option('cni-path', { type: 'string', describe: 'directories holding the CNI plugins (default /usr/lib/cni:/opt/cni/bin)' })

    .positional('args', { type: 'string', array: true, describe: "with --image: the command, replacing the image's Cmd" })
    .option('image', { type: 'string', describe: 'make the container from this image (pulled when not in the store)' })
    .option('entrypoint', { type: 'string', describe: 'with --image: replaces the image\'s Entrypoint (and drops its Cmd); "" for none' })
    .option('insecure', {
      type: 'boolean',
      default: false,
      describe: 'with --image: allow plain HTTP to a registry that is not on this machine',
    });
}

/** The words after the container id: those after `--` land in argv._ (after the command's name),
 *  the others in args. */
export function commandWords(argv: { args?: string[] }): string[] {
  return [...(argv.args ?? []), ...((argv as unknown as { _: unknown[] })._ ?? []).slice(1).map(String)];
}

/** --entrypoint as the image conversion takes it: "" for none. */
export function entrypointOf(value: string | undefined): string[] | undefined {
  return value === undefined ? undefined : value === '' ? [] : [value];
}

/** -v, --tmpfs, --network, -p, --ip and --cni-path as rt.create takes them. */
export function attachmentOptions(argv: Pick<CreateArgs, 'volume' | 'tmpfs' | 'network' | 'publish' | 'ip' | 'cni-path'>) {
  return {
    volumes: argv.volume,
    tmpfs: argv.tmpfs,
    networks: argv.network?.flatMap((n) => n.split(',')).filter(Boolean),
    ports: argv.publish,
    ip: argv.ip,
    cniPath: argv['cni-path']?.split(':').filter(Boolean),
  };
}

/** The bundle or, with --image, what rt.create takes to make one from the image. */
export function createTarget(argv: CreateArgs): string | ImageCreateOptions {
  argv = { ...argv, args: commandWords(argv) };
  if (!argv.image) {
    if (argv.args?.length)
      throw new InvalidArgumentError(
        `unexpected arguments after the container id: ${argv.args.join(' ')} (a command is given only with --image)`,
      );
    if (argv.entrypoint !== undefined) throw new InvalidArgumentError('--entrypoint needs --image');
    return argv.bundle;
  }
  if (argv.bundle !== '.')
    throw new InvalidArgumentError('give --image or --bundle, not both (a container of an image gets a bundle of its own in the store)');
  const { bundle: _bundle, ...rest } = createArgsToOptions(argv);
  const stage = argv.trace ? imageTraceReporter() : undefined;
  return {
    ...rest,
    image: argv.image,
    args: argv.args?.length ? argv.args : undefined,
    entrypoint: entrypointOf(argv.entrypoint),
    pullOptions: { insecure: argv.insecure },
    onStage: stage,
  };
}

function imageTraceReporter() {
  return (stage: string, usec: number, detail: string) =>
    writeLine(2, `trace: image ${stage.padEnd(12)} ${detail.padEnd(34)} ok ${usec}us`);
}

export function createArgsToOptions(argv: CreateArgs) {
  return {
    bundle: argv.bundle,
    pidFile: argv['pid-file'],
    consoleSocket: argv['console-socket'],
    pidfdSocket: argv['pidfd-socket'],
    noPivot: argv['no-pivot'],
    noNewKeyring: argv['no-new-keyring'],
    preserveFds: argv['preserve-fds'],
    trace: argv.trace,
    onTrace: argv.trace ? traceReporter(cliLogger(), { logFile: argv.log }) : undefined,
    ...attachmentOptions(argv),
  };
}

export const createCommand: CommandModule<GlobalArgs, CreateArgs> = {
  command: 'create <id> [args..]',
  describe: 'create a container and park its init until start',
  builder: (y) => createOptions(y) as never,
  handler: async (argv) => {
    await cliRuntime(argv).create(argv.id, createTarget(argv), createArgsToOptions(argv));
  },
};
