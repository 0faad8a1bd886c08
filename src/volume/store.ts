// Named volumes: <store>/volumes/NAME/_data holds the data, <store>/volumes/NAME/volume.json what
// `volume inspect` shows, and <store>/volumes/NAME/users/ one file per container that has it
// mounted (so `volume rm` can refuse). A user whose container's state directory is gone (deleted,
// or a crash) is stale and is dropped when seen.
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { RuntError } from '../errors.js';
import { native } from '../native.js';

export interface VolumeInfo {
  name: string;
  /** The directory containers get: <store>/volumes/NAME/_data. */
  mountpoint: string;
  created: string;
  labels: Record<string, string>;
  /** Made for one container (an image's declared volume): removed with it. */
  anonymous: boolean;
  /** Set once the data directory received a copy of an image's content (or was marked nocopy). */
  populated?: boolean;
}

/** A container that has the volume mounted: its state root and id. */
export interface VolumeUser {
  root: string;
  id: string;
}

export class VolumeNotFoundError extends RuntError {
  constructor(readonly volume: string) {
    super('ENOTFOUND_VOLUME', `volume "${volume}" does not exist`);
  }
}

const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

export function checkVolumeName(name: string): void {
  if (!NAME_PATTERN.test(name) || name.length > 128) {
    throw new RuntError(
      'EINVALID_ARGUMENT',
      `invalid volume name "${name}": use letters, digits, '_', '.' and '-' (starting with a letter or digit)`,
    );
  }
}

export class VolumeStore {
  readonly dir: string;

  constructor(store: string) {
    this.dir = join(store, 'volumes');
  }

  path(name: string): string {
    return join(this.dir, name);
  }

  create(name: string, opts: { labels?: Record<string, string>; anonymous?: boolean; existOk?: boolean } = {}): VolumeInfo {
    checkVolumeName(name);
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    const dir = this.path(name);
    try {
      mkdirSync(dir, { mode: 0o700 });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      if (opts.existOk) return this.inspect(name);
      throw new RuntError('EEXIST_VOLUME', `volume "${name}" already exists`);
    }
    try {
      mkdirSync(join(dir, '_data'), { mode: 0o755 });
      const info: VolumeInfo = {
        name,
        mountpoint: join(dir, '_data'),
        created: new Date().toISOString(),
        labels: opts.labels ?? {},
        anonymous: opts.anonymous ?? false,
      };
      this.writeInfo(info);
      return info;
    } catch (e) {
      rmSync(dir, { recursive: true, force: true });
      throw e;
    }
  }

  exists(name: string): boolean {
    checkVolumeName(name);
    return existsSync(join(this.path(name), 'volume.json'));
  }

  inspect(name: string): VolumeInfo {
    checkVolumeName(name);
    try {
      return JSON.parse(readFileSync(join(this.path(name), 'volume.json'), 'utf8')) as VolumeInfo;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new VolumeNotFoundError(name);
      throw e;
    }
  }

  list(): VolumeInfo[] {
    let names: string[];
    try {
      names = readdirSync(this.dir).sort();
    } catch {
      return [];
    }
    const out: VolumeInfo[] = [];
    for (const n of names) {
      try {
        out.push(this.inspect(n));
      } catch {
        // a volume being created or removed
      }
    }
    return out;
  }

  writeInfo(info: VolumeInfo): void {
    const file = join(this.path(info.name), 'volume.json');
    writeFileSync(`${file}.tmp`, `${JSON.stringify(info, null, 2)}\n`, { mode: 0o600 });
    renameSync(`${file}.tmp`, file);
  }

  /** The containers that have it mounted now (stale entries are dropped). */
  users(name: string): VolumeUser[] {
    const dir = join(this.path(name), 'users');
    let files: string[];
    try {
      files = readdirSync(dir);
    } catch {
      return [];
    }
    const live: VolumeUser[] = [];
    for (const f of files) {
      let u: VolumeUser;
      try {
        u = JSON.parse(readFileSync(join(dir, f), 'utf8')) as VolumeUser;
      } catch {
        continue;
      }
      if (existsSync(join(u.root, u.id))) live.push(u);
      else rmSync(join(dir, f), { force: true });
    }
    return live;
  }

  addUser(name: string, user: VolumeUser): void {
    const dir = join(this.path(name), 'users');
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    writeFileSync(join(dir, userFile(user)), JSON.stringify(user), { mode: 0o600 });
  }

  removeUser(name: string, user: VolumeUser): void {
    try {
      unlinkSync(join(this.path(name), 'users', userFile(user)));
    } catch {
      /* gone already */
    }
  }

  /** Remove a volume and its data; refused while a container has it mounted. */
  remove(name: string, opts: { force?: boolean } = {}): void {
    const info = this.inspect(name);
    const users = this.users(name);
    if (users.length && !opts.force) {
      throw new RuntError('EBUSY_VOLUME', `volume "${name}" is in use by container ${users.map((u) => `"${u.id}"`).join(', ')}`);
    }
    // Rename first: a concurrent create or mount never sees half a volume.
    const doomed = join(this.dir, `.removing-${info.name}-${process.pid}`);
    renameSync(this.path(name), doomed);
    rmSync(doomed, { recursive: true, force: true });
  }

  /** Remove every volume no container uses; returns their names. */
  prune(): string[] {
    const removed: string[] = [];
    for (const v of this.list()) {
      if (this.users(v.name).length) continue;
      try {
        this.remove(v.name);
        removed.push(v.name);
      } catch {
        // taken meanwhile
      }
    }
    return removed;
  }
}

function userFile(u: VolumeUser): string {
  const hex = native().sha256(Buffer.from(`${u.root}\0${u.id}`));
  return `${hex.slice(0, 24)}.json`;
}
