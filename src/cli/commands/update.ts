import { readFileSync } from 'node:fs';
import type { CommandModule } from 'yargs';
import { type GlobalArgs } from '../global.js';
import { cliRuntime } from '../cli-runtime.js';
import { InvalidArgumentError } from '../../errors.js';
import type { Resources } from '../../spec/types.js';
import { checkJsonTextDepth } from '../../spec/depth.js';

type Args = GlobalArgs & { id: string; resources?: string } & Record<string, unknown>;

/** "100m", "1G", "512k" or plain bytes; -1 means unlimited. */
export function parseBytes(flag: string, v: unknown): number {
  const m = /^(-?\d+)\s*([kmgt]?)i?b?$/i.exec(String(v).trim());
  if (!m) throw new InvalidArgumentError(`--${flag}: invalid size "${String(v)}"`);
  const mult: Record<string, number> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };
  return Number(m[1]) * mult[m[2].toLowerCase()];
}

const INT = (flag: string, v: unknown) => {
  const n = Number(v);
  if (!Number.isInteger(n)) throw new InvalidArgumentError(`--${flag}: must be an integer, got "${String(v)}"`);
  return n;
};

/** runc's shorthand flags and where each lands in linux.resources. */
const FLAGS: Array<[string, (r: Resources, v: unknown, flag: string) => void]> = [
  [
    'memory',
    (r, v, f) => {
      (r.memory ??= {}).limit = parseBytes(f, v);
    },
  ],
  [
    'memory-reservation',
    (r, v, f) => {
      (r.memory ??= {}).reservation = parseBytes(f, v);
    },
  ],
  [
    'memory-swap',
    (r, v, f) => {
      (r.memory ??= {}).swap = parseBytes(f, v);
    },
  ],
  [
    'kernel-memory',
    (r, v, f) => {
      (r.memory ??= {}).kernel = parseBytes(f, v);
    },
  ],
  [
    'kernel-memory-tcp',
    (r, v, f) => {
      (r.memory ??= {}).kernelTCP = parseBytes(f, v);
    },
  ],
  [
    'cpu-shares',
    (r, v, f) => {
      (r.cpu ??= {}).shares = INT(f, v);
    },
  ],
  [
    'cpu-share',
    (r, v, f) => {
      (r.cpu ??= {}).shares = INT(f, v);
    },
  ],
  [
    'cpu-quota',
    (r, v, f) => {
      (r.cpu ??= {}).quota = INT(f, v);
    },
  ],
  [
    'cpu-period',
    (r, v, f) => {
      (r.cpu ??= {}).period = INT(f, v);
    },
  ],
  [
    'cpu-rt-runtime',
    (r, v, f) => {
      (r.cpu ??= {}).realtimeRuntime = INT(f, v);
    },
  ],
  [
    'cpu-rt-period',
    (r, v, f) => {
      (r.cpu ??= {}).realtimePeriod = INT(f, v);
    },
  ],
  [
    'cpuset-cpus',
    (r, v) => {
      (r.cpu ??= {}).cpus = String(v);
    },
  ],
  [
    'cpuset-mems',
    (r, v) => {
      (r.cpu ??= {}).mems = String(v);
    },
  ],
  [
    'pids-limit',
    (r, v, f) => {
      r.pids = { limit: INT(f, v) };
    },
  ],
  [
    'blkio-weight',
    (r, v, f) => {
      (r.blockIO ??= {}).weight = INT(f, v);
    },
  ],
  [
    'cpu-burst',
    (r, v, f) => {
      (r.cpu ??= {}).burst = INT(f, v);
    },
  ],
  [
    'cpu-idle',
    (r, v, f) => {
      (r.cpu ??= {}).idle = INT(f, v);
    },
  ],
];

/** runc's Intel RDT flags (linux.intelRdt, not linux.resources): refused by name, as create refuses
 *  linux.intelRdt (src/plan/intel-rdt.ts). */
const RDT_FLAGS = ['l3-cache-schema', 'mem-bw-schema'];

export const updateCommand: CommandModule<GlobalArgs, Args> = {
  command: 'update <id>',
  describe: 'change the resource limits of a running container',
  builder: (y) => {
    let b = y
      .positional('id', { type: 'string', demandOption: true })
      // nargs: 1 lets the value be "-" (`--resources - ID`, as containerd calls it); yargs would
      // otherwise read a lone "-" after a long option as no value.
      .option('resources', { alias: 'r', type: 'string', nargs: 1, describe: 'LinuxResources JSON file, or - for stdin' });
    for (const [flag] of FLAGS) b = b.option(flag, { type: 'string', describe: `linux.resources shorthand` });
    for (const flag of RDT_FLAGS)
      b = b.option(flag, { type: 'string', describe: 'linux.intelRdt (refused: runt has no Intel RDT code path)' });
    return b as never;
  },
  handler: async (argv) => {
    const rdt = RDT_FLAGS.find((f) => argv[f] !== undefined);
    if (rdt) {
      const { resctrlMounted } = await import('../../plan/intel-rdt.js');
      throw new InvalidArgumentError(
        resctrlMounted()
          ? `--${rdt}: linux.intelRdt is not supported by runt (resctrl is mounted, but runt has no Intel RDT code path)`
          : `--${rdt}: no resctrl filesystem is mounted on this host (/sys/fs/resctrl)`,
      );
    }
    let resources: Resources = {};
    if (argv.resources !== undefined) {
      const text = readFileSync(argv.resources === '-' ? 0 : argv.resources, 'utf8');
      checkJsonTextDepth(text, '--resources');
      try {
        resources = JSON.parse(text) as Resources;
      } catch (e) {
        throw new InvalidArgumentError(`--resources: invalid JSON: ${(e as Error).message}`);
      }
    }
    for (const [flag, set] of FLAGS) {
      if (argv[flag] !== undefined) set(resources, argv[flag], flag);
    }
    cliRuntime(argv).update(argv.id, resources);
  },
};
