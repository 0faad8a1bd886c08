// `runt image pull|ls|inspect|rm|prune|bundle`: the image store from the command line.
import type { Argv, CommandModule } from 'yargs';
import { out, type GlobalArgs } from '../global.js';
import { writeLine } from '../write-line.js';
import { tableLines } from '../table.js';
import { storeRoot } from '../../store-root.js';
import type { PullEvent } from '../../image/pull.js';

type ImageArgs = GlobalArgs;

const store = (y: Argv<object>) => y;

async function service(argv: ImageArgs) {
  const { ImageService } = await import('../../image/service.js');
  return new ImageService(storeRoot(argv.store));
}

export function formatBytes(n: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let i = 0;
  let v = n;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(v < 10 ? 2 : 1)} ${units[i]}`;
}

/** Progress on a terminal: a line redrawn on stderr (bytes, rate, each layer). */
function progressReporter(): (e: PullEvent) => void {
  const started = Date.now();
  let last = 0;
  const bytes = new Map<string, [number, number]>();
  return (e) => {
    if (e.event === 'resolved') writeLine(2, `${e.ref}: ${e.digest} (${e.platform}), ${e.layers} layers, ${formatBytes(e.bytes)}`);
    else if (e.event === 'progress' || e.event === 'layer') {
      bytes.set(e.digest, [e.bytes, e.total]);
      const now = Date.now();
      if (e.event === 'progress' && now - last < 100) return;
      last = now;
      const got = [...bytes.values()].reduce((n, [b]) => n + b, 0);
      const rate = got / Math.max(0.001, (now - started) / 1000);
      const per = [...bytes.entries()].map(([d, [b, t]]) => `${d.slice(7, 19)} ${t ? Math.floor((100 * b) / t) : 100}%`).join('  ');
      process.stderr.write(`\r\x1b[K${formatBytes(got)} ${formatBytes(rate)}/s  ${per}`);
    } else if (e.event === 'unpacked') {
      if (!e.cached) process.stderr.write(`\r\x1b[Kunpacked ${e.digest.slice(7, 19)} in ${(e.usec / 1000).toFixed(0)} ms`);
    } else if (e.event === 'done') {
      process.stderr.write(`\r\x1b[K`);
      writeLine(2, `pulled ${e.ref} in ${(e.usec / 1e6).toFixed(2)} s`);
    }
  };
}

const pull: CommandModule<
  ImageArgs,
  ImageArgs & {
    'no-unpack': boolean;
    ref: string;
    platform?: string;
    insecure: boolean;
    creds?: string;
    authfile?: string;
    quiet: boolean;
    'progress-json': boolean;
    timeout: number;
    'max-layer-bytes'?: number;
  }
> = {
  command: 'pull <ref>',
  describe: 'pull an image from a registry into the store',
  builder: (y) =>
    store(y)
      .positional('ref', { type: 'string', demandOption: true })
      .option('platform', { type: 'string', describe: 'OS/ARCH[/VARIANT] to choose from an index (default: this machine)' })
      .option('insecure', { type: 'boolean', default: false, describe: 'allow plain HTTP to a registry that is not on this machine' })
      .option('creds', { type: 'string', describe: 'USER:PASSWORD for the registry' })
      .option('authfile', { type: 'string', describe: 'auth file (default ~/.docker/config.json)' })
      .option('timeout', { type: 'number', default: 30, describe: 'seconds without a byte from the registry before giving up' })
      .option('max-layer-bytes', { type: 'number', describe: 'refuse a layer that unpacks to more bytes than this' })
      .option('progress-json', { type: 'boolean', default: false, describe: 'JSON lines on stdout even on a terminal' })
      .option('no-unpack', { type: 'boolean', default: false, describe: 'only download: unpack at the first container' })
      .option('quiet', { alias: 'q', type: 'boolean', default: false, describe: 'print only the digest' }) as never,
  handler: async (argv) => {
    const svc = await service(argv);
    const { parsePlatform } = await import('../../image/platform.js');
    // Not on a terminal: one JSON line per event on stdout (the last, "done", names the digest).
    const json = argv['progress-json'] || !process.stderr.isTTY;
    const onProgress = argv.quiet
      ? undefined
      : json
        ? (e: PullEvent) => {
            if (e.event !== 'progress') out(JSON.stringify(e));
          }
        : progressReporter();
    const { DEFAULT_LIMITS } = await import('../../image/limits.js');
    const img = await svc.pull(argv.ref, {
      platform: argv.platform ? parsePlatform(argv.platform) : undefined,
      insecure: argv.insecure,
      creds: argv.creds,
      authfile: argv.authfile,
      timeoutMs: argv.timeout * 1000,
      onProgress,
      unpack: !argv['no-unpack'],
      limits: argv['max-layer-bytes'] ? { ...DEFAULT_LIMITS, maxBytes: argv['max-layer-bytes'] } : undefined,
    });
    if (argv.quiet) out(img.digest);
    else if (!json) out(`${img.name} ${img.digest}`);
  },
};

const ls: CommandModule<ImageArgs, ImageArgs & { format: 'table' | 'json' }> = {
  command: ['ls', 'list'],
  describe: 'list the images in the store',
  builder: (y) => store(y).option('format', { alias: 'f', choices: ['table', 'json'] as const, default: 'table' as const }) as never,
  handler: async (argv) => {
    const list = (await service(argv)).list();
    if (argv.format === 'json') return out(JSON.stringify(list, null, 2));
    const rows = [['NAME', 'DIGEST', 'LAYERS', 'SIZE', 'UNPACKED', 'CREATED']];
    for (const i of list)
      rows.push([i.name, i.digest.slice(7, 19), String(i.layers), formatBytes(i.size), formatBytes(i.unpackedSize), i.created ?? '']);
    out(tableLines(rows).join('\n'));
  },
};

const inspect: CommandModule<ImageArgs, ImageArgs & { ref: string }> = {
  command: 'inspect <ref>',
  describe: "print an image's manifest, config and sizes as JSON",
  builder: (y) => store(y).positional('ref', { type: 'string', demandOption: true }) as never,
  handler: async (argv) => {
    const i = (await service(argv)).inspect(argv.ref);
    out(
      JSON.stringify(
        {
          name: i.name,
          digest: i.descriptor.digest,
          size: i.summary.size,
          unpackedSize: i.summary.unpackedSize,
          platform: i.summary.platform,
          manifest: i.manifest,
          config: i.config,
        },
        null,
        2,
      ),
    );
  },
};

const rm: CommandModule<ImageArgs, ImageArgs & { refs: string[] }> = {
  command: ['rm <refs..>', 'remove <refs..>'],
  describe: 'remove images, and the blobs and snapshots no other image or container uses',
  builder: (y) => store(y).positional('refs', { type: 'string', array: true, demandOption: true }) as never,
  handler: async (argv) => {
    const svc = await service(argv);
    for (const r of argv.refs) {
      const gc = await svc.remove(r);
      out(`removed ${r} (${gc.blobs} blobs, ${gc.snapshots} snapshots, ${formatBytes(gc.bytes)})`);
    }
  },
};

const prune: CommandModule<ImageArgs, ImageArgs> = {
  command: 'prune',
  describe: 'remove unreferenced blobs and snapshots and interrupted downloads',
  builder: (y) => store(y) as never,
  handler: async (argv) => {
    const gc = await (await service(argv)).prune();
    out(`removed ${gc.blobs} blobs, ${gc.snapshots} snapshots, ${formatBytes(gc.bytes)}`);
  },
};

const bundle: CommandModule<ImageArgs, ImageArgs & { ref: string; dir: string; args?: string[]; entrypoint?: string; insecure: boolean }> =
  {
    command: 'bundle <ref> <dir> [args..]',
    describe: 'write a plain OCI bundle (rootfs + config.json) of an image, for any runtime',
    builder: (y) =>
      store(y)
        .positional('ref', { type: 'string', demandOption: true })
        .positional('dir', { type: 'string', demandOption: true })
        .positional('args', { type: 'string', array: true })
        .option('entrypoint', { type: 'string', describe: "replaces the image's Entrypoint (and drops its Cmd)" })
        .option('insecure', { type: 'boolean', default: false }) as never,
    handler: async (argv) => {
      const dir = await (
        await service(argv)
      ).bundle(argv.ref, argv.dir, {
        args: argv.args?.length ? argv.args : undefined,
        entrypoint: argv.entrypoint === undefined ? undefined : argv.entrypoint === '' ? [] : [argv.entrypoint],
        pullOptions: { insecure: argv.insecure },
      });
      out(dir);
    },
  };

const push: CommandModule<
  ImageArgs,
  ImageArgs & { ref: string; source?: string; insecure: boolean; creds?: string; authfile?: string; timeout: number }
> = {
  command: 'push <ref> [source]',
  describe: 'push an image of the store to a registry (source: a stored image to push under ref)',
  builder: (y) =>
    store(y)
      .positional('ref', { type: 'string', demandOption: true })
      .positional('source', { type: 'string' })
      .option('insecure', { type: 'boolean', default: false, describe: 'allow plain HTTP to a registry that is not on this machine' })
      .option('creds', { type: 'string', describe: 'USER:PASSWORD for the registry' })
      .option('authfile', { type: 'string', describe: 'auth file (default ~/.docker/config.json)' })
      .option('timeout', { type: 'number', default: 30, describe: 'seconds without a byte from the registry before giving up' }) as never,
  handler: async (argv) => {
    const digest = await (
      await service(argv)
    ).push(argv.ref, argv.source, {
      insecure: argv.insecure,
      creds: argv.creds,
      authfile: argv.authfile,
      timeoutMs: argv.timeout * 1000,
      onProgress: (e) => writeLine(2, JSON.stringify(e)),
    });
    out(`${argv.ref} ${digest}`);
  },
};

const importCmd: CommandModule<ImageArgs, ImageArgs & { file: string; name?: string; platform?: string; 'max-layer-bytes'?: number }> = {
  command: 'import <file> [name]',
  describe: 'add the image(s) of an oci-archive or docker-archive tarball to the store',
  builder: (y) =>
    store(y)
      .positional('file', { type: 'string', demandOption: true })
      .positional('name', { type: 'string', describe: 'store the image under this name' })
      .option('platform', { type: 'string', describe: 'OS/ARCH[/VARIANT] to choose from an index' })
      .option('max-layer-bytes', { type: 'number', describe: 'refuse a layer that unpacks to more bytes than this' }) as never,
  handler: async (argv) => {
    const { parsePlatform } = await import('../../image/platform.js');
    const { DEFAULT_LIMITS } = await import('../../image/unpack.js');
    const names = await (
      await service(argv)
    ).importArchive(argv.file, {
      name: argv.name,
      platform: argv.platform ? parsePlatform(argv.platform) : undefined,
      limits: argv['max-layer-bytes'] ? { ...DEFAULT_LIMITS, maxBytes: argv['max-layer-bytes'] } : undefined,
    });
    out(names.join('\n'));
  },
};

const exportCmd: CommandModule<ImageArgs, ImageArgs & { ref: string; file: string; format: 'oci-archive' | 'docker-archive' }> = {
  command: 'export <ref> <file>',
  describe: 'write an image of the store to a tarball',
  builder: (y) =>
    store(y)
      .positional('ref', { type: 'string', demandOption: true })
      .positional('file', { type: 'string', demandOption: true })
      .option('format', { choices: ['oci-archive', 'docker-archive'] as const, default: 'oci-archive' as const }) as never,
  handler: async (argv) => {
    await (await service(argv)).exportArchive(argv.ref, argv.file, argv.format);
  },
};

/** For the CLI's fast path (fast-path.ts), which parses these two without yargs. */
export { pull as imagePullCommand, ls as imageLsCommand };

/** Every `image` subcommand, in the order of the help text. */
export const imageSubcommands = [pull, ls, inspect, rm, prune, bundle, push, importCmd, exportCmd] as unknown as CommandModule[];

export const imageCommand: CommandModule<GlobalArgs, GlobalArgs> = {
  command: 'image <command>',
  describe: 'pull, list, inspect, remove images; make bundles from them',
  builder: (y) => imageSubcommands.reduce((yy, c) => yy.command(c as never), y).demandCommand(1) as never,
  handler: () => {},
};
