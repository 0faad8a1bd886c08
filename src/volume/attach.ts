// A container's volumes: `-v`/`--tmpfs` requests become mounts the planner adds after the spec's own
// (so `explain` and `--trace` show them, each naming its request), named volumes are created on
// first use and filled by copy-up, and each volume records the container as a user until delete.
import { closeSync, openSync, statSync } from 'node:fs';
import { native } from '../native.js';
import { join } from 'node:path';
import { RuntError } from '../errors.js';
import type { Spec } from '../spec/types.js';
import { parseTmpfsArg, parseVolumeArg, type TmpfsMount, type VolumeMount } from './parse.js';
import { VolumeNotFoundError, VolumeStore, type VolumeUser } from './store.js';

type SpecMount = NonNullable<Spec['mounts']>[number];

/** A mount runt adds to the spec's, with the request it serves (the plan's `field`). */
export interface ExtraMount {
  mount: SpecMount;
  field: string;
  /** What the source is, when it may not exist yet (explain plans volumes it does not create). */
  sourceKind?: 'dir' | 'file';
  /** The init fills the volume, if it is empty, with what the mount covers (the image's content,
   *  through the overlay when the rootfs is one), fd-relative and never following a symlink. */
  copyUp?: boolean;
}

/** What a container holds of the store (kept in its state for delete). */
export interface HeldVolume {
  name: string;
  anonymous: boolean;
}

export interface VolumeRequests {
  volumes?: Array<string | VolumeMount>;
  tmpfs?: Array<string | TmpfsMount>;
  /** Named volumes must exist already (library: createVolumes false); default: created on first use. */
  createVolumes?: boolean;
}

export interface PreparedVolumes {
  mounts: ExtraMount[];
  held: HeldVolume[];
}

/** Parse, create and register (the copy-up is a step of the plan); on failure nothing is left held. */
export function prepareVolumes(storeDir: string, user: VolumeUser, req: VolumeRequests, dryRun = false): PreparedVolumes {
  const store = new VolumeStore(storeDir);
  const out: PreparedVolumes = { mounts: [], held: [] };
  try {
    (req.volumes ?? []).forEach((arg, i) => {
      const v = parseVolumeArg(arg);
      const field = `volumes[${i}] (${typeof arg === 'string' ? arg : `${v.source}:${v.destination}`})`;
      const options = ['rbind', v.readonly ? 'ro' : 'rw'];
      if (v.kind === 'bind') {
        if (dryRun) {
          out.mounts.push({ mount: { destination: v.destination, type: 'bind', source: v.source, options }, field, sourceKind: 'dir' });
          return;
        }
        try {
          statSync(v.source);
        } catch {
          throw new RuntError(
            'EINVALID_ARGUMENT',
            `-v ${typeof arg === 'string' ? arg : v.source}: host path "${v.source}" does not exist`,
          );
        }
        out.mounts.push({ mount: { destination: v.destination, type: 'bind', source: v.source, options }, field });
        return;
      }
      let name = v.source;
      if (dryRun) {
        const known = v.kind === 'volume' && store.exists(name) ? store.inspect(name) : undefined;
        const source = known?.mountpoint ?? join(store.path(v.kind === 'anonymous' ? 'anon-<random>' : name), '_data');
        out.mounts.push({
          mount: { destination: v.destination, type: 'bind', source, options },
          field,
          sourceKind: 'dir',
          copyUp: !v.nocopy && !known?.populated,
        });
        return;
      }
      if (v.kind === 'anonymous') {
        name = `anon-${process.getBuiltinModule('node:crypto').randomBytes(12).toString('hex')}`;
        store.create(name, { anonymous: true });
      } else if (!store.exists(name)) {
        if (req.createVolumes === false) throw new VolumeNotFoundError(name);
        store.create(name, { existOk: true });
      }
      out.held.push({ name, anonymous: v.kind === 'anonymous' });
      store.addUser(name, user);
      // The first mount copies up (unless nocopy); later ones find the volume as it was left. The
      // volume's directory lock makes "first" exact between containers created at once.
      const { info, copyUp } = withVolumeLock(store, name, () => {
        const now = store.inspect(name);
        if (!now.populated) store.writeInfo({ ...now, populated: true });
        return { info: now, copyUp: !v.nocopy && !now.populated };
      });
      out.mounts.push({ mount: { destination: v.destination, type: 'bind', source: info.mountpoint, options }, field, copyUp });
    });
    (req.tmpfs ?? []).forEach((arg, i) => {
      const t = parseTmpfsArg(arg);
      out.mounts.push({
        mount: { destination: t.destination, type: 'tmpfs', source: 'tmpfs', options: t.options },
        field: `tmpfs[${i}] (${t.destination})`,
      });
    });
    return out;
  } catch (e) {
    releaseVolumes(storeDir, user, out.held);
    throw e;
  }
}

function withVolumeLock<T>(store: VolumeStore, name: string, fn: () => T): T {
  const fd = openSync(store.path(name), 'r');
  try {
    native().flock(fd, true);
    return fn();
  } finally {
    closeSync(fd);
  }
}

/** Delete's part: the container no longer uses its volumes; anonymous ones go with it. */
export function releaseVolumes(storeDir: string, user: VolumeUser, held: HeldVolume[]): void {
  const store = new VolumeStore(storeDir);
  for (const h of held) {
    store.removeUser(h.name, user);
    if (h.anonymous) {
      try {
        store.remove(h.name, { force: true });
      } catch {
        /* already gone */
      }
    }
  }
}

export const volumeDataDir = (storeDir: string, name: string) => join(new VolumeStore(storeDir).path(name), '_data');
