// A container's volumes: `-v`/`--tmpfs` requests become mounts the planner adds after the spec's own
// (so `explain` and `--trace` show them, each naming its request), named volumes are created on
// first use and filled by copy-up, and each volume records the container as a user until delete.
import { randomBytes } from 'node:crypto';
import { closeSync, openSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { RuntError } from '../errors.js';
import { native } from '../native.js';
import type { Spec } from '../spec/types.js';
import { copyTree, openInRoot } from './copy-up.js';
import { parseTmpfsArg, parseVolumeArg, type TmpfsMount, type VolumeMount } from './parse.js';
import { touch, VolumeNotFoundError, VolumeStore, type VolumeUser } from './store.js';

type SpecMount = NonNullable<Spec['mounts']>[number];

/** A mount runt adds to the spec's, with the request it serves (the plan's `field`). */
export interface ExtraMount {
  mount: SpecMount;
  field: string;
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

/** Parse, create, copy up and register; on failure nothing is left held. */
export function prepareVolumes(storeDir: string, user: VolumeUser, rootfs: string, req: VolumeRequests): PreparedVolumes {
  const store = new VolumeStore(storeDir);
  const out: PreparedVolumes = { mounts: [], held: [] };
  try {
    (req.volumes ?? []).forEach((arg, i) => {
      const v = parseVolumeArg(arg);
      const field = `volumes[${i}] (${typeof arg === 'string' ? arg : `${v.source}:${v.destination}`})`;
      const options = ['rbind', v.readonly ? 'ro' : 'rw'];
      if (v.kind === 'bind') {
        try {
          statSync(v.source);
        } catch {
          throw new RuntError('EINVALID_ARGUMENT', `-v ${typeof arg === 'string' ? arg : v.source}: host path "${v.source}" does not exist`);
        }
        out.mounts.push({ mount: { destination: v.destination, type: 'bind', source: v.source, options }, field });
        return;
      }
      let name = v.source;
      if (v.kind === 'anonymous') {
        name = `anon-${randomBytes(12).toString('hex')}`;
        store.create(name, { anonymous: true });
      } else if (!store.exists(name)) {
        if (req.createVolumes === false) throw new VolumeNotFoundError(name);
        store.create(name, { existOk: true });
      }
      out.held.push({ name, anonymous: v.kind === 'anonymous' });
      store.addUser(name, user);
      if (!v.nocopy) populate(store, name, rootfs, v.destination);
      out.mounts.push({ mount: { destination: v.destination, type: 'bind', source: store.inspect(name).mountpoint, options }, field });
    });
    (req.tmpfs ?? []).forEach((arg, i) => {
      const t = parseTmpfsArg(arg);
      out.mounts.push({ mount: { destination: t.destination, type: 'tmpfs', source: 'tmpfs', options: t.options }, field: `tmpfs[${i}] (${t.destination})` });
    });
    return out;
  } catch (e) {
    releaseVolumes(storeDir, user, out.held);
    throw e;
  }
}

/** The first mount of an empty volume copies the rootfs's content at `destination` into it. */
function populate(store: VolumeStore, name: string, rootfs: string, destination: string): void {
  const info = store.inspect(name);
  if (info.populated) return;
  touch(store.lockFile(name));
  const lockFd = openSync(store.lockFile(name), 'r');
  try {
    native().flock(lockFd, true);
    const now = store.inspect(name);
    if (now.populated) return;
    if (readdirSync(now.mountpoint).length === 0) {
      const src = openInRoot(rootfs, destination);
      if (src >= 0) {
        try {
          copyTree(src, now.mountpoint);
        } finally {
          closeSync(src);
        }
      }
    }
    store.writeInfo({ ...now, populated: true });
  } finally {
    closeSync(lockFd);
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
      } catch { /* already gone */ }
    }
  }
}

export const volumeDataDir = (storeDir: string, name: string) => join(new VolumeStore(storeDir).path(name), '_data');
