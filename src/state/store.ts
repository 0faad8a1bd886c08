// The state directory: <root>/<id>/state.json plus the exec fifo, guarded by flock on the directory.
//
// Each file is written once and never replaced in the common path: on ext4 (where /run may live)
// renaming over an existing file starts writeback of the new one (auto_da_alloc), which made each
// replacing write cost ≈ 0.4 ms and the later unlink wait for that I/O (≈ 1 ms). So `create` writes
// creating.json (what `delete --force` needs after a crash: the cgroup paths) into the directory it
// just claimed, and state.json once, when the init is parked; `start` writes nothing (the status is
// derived: the exec fifo is gone).
import {
  close,
  closeSync,
  mkdirSync,
  openSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmdirSync,
  rmSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import type { Spec } from '../spec/types.js';
import { ContainerExistsError, ContainerNotFoundError, InvalidArgumentError } from '../errors.js';
import { native } from '../native.js';
import { defaultStateRoot } from '../rootless.js';

/** /run/runt, or $XDG_RUNTIME_DIR/runt for a user other than root (rootless.ts). */
export const DEFAULT_ROOT = defaultStateRoot();
export const EXEC_FIFO = 'exec.fifo';
const STATE_FILE = 'state.json';
/** The record `create` leaves while it works: read only when state.json is missing. */
const CREATING_FILE = 'creating.json';

/** What runt keeps about a container between commands. */
export interface SavedState {
  ociVersion: string;
  id: string;
  /** 0 until the init exists. */
  pid: number;
  /** Field 22 of /proc/PID/stat when the init started: tells a reused pid from ours. */
  pidStartTime: number;
  bundle: string;
  rootfs: string;
  created: string;
  annotations: Record<string, string>;
  /** Set while `create` is still working: a crash leaves this behind for `delete`. */
  creating: boolean;
  /** The process doing the create (in creating.json only): once it is gone, so is the create. */
  creator?: { pid: number; startTime: number };
  /** Set by runt versions that rewrote the state on start; the status now comes from the exec fifo. */
  started?: boolean;
  cgroupPaths: Record<string, string>;
  /** No mount namespace of its own: the mount id of the rootfs bind the init made in the runtime's
   *  mount namespace (delete detaches it, with the mounts under it). */
  rootfsMountId?: number;
  /** NOTIFY_SOCKET of the runtime's caller at create: `start` relays the container's READY=1 there. */
  notifySocket?: string;
  spec: Spec;
  /** runt's store the container's volumes and networks are in (delete uses it, whatever --store it is given). */
  store?: string;
  /** Volumes the container holds (src/volume): released on delete, anonymous ones removed. */
  volumes?: Array<{ name: string; anonymous: boolean }>;
  /** The networks it joined and its addresses there (the CNI record is networks.json beside). */
  networks?: Array<{ network: string; ifname: string; addresses: string[]; mac?: string }>;
}

const ID_PATTERN = /^[\w+\-.]+$/;

export function checkId(id: string): void {
  if (!id || !ID_PATTERN.test(id) || id === '.' || id === '..' || id.length > 1024) {
    throw new InvalidArgumentError(`invalid container id "${id}": use letters, digits, '_', '+', '-' and '.'`);
  }
}

export class StateStore {
  constructor(readonly root: string = DEFAULT_ROOT) {}

  dir(id: string): string {
    return join(this.root, id);
  }

  /** Claim a new id: the directory's creation is the atomic test for a duplicate. Returns the lock. */
  claim(id: string): StateLock {
    checkId(id);
    mkdirSync(this.root, { recursive: true, mode: 0o711 });
    try {
      mkdirSync(this.dir(id), { mode: 0o711 });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') throw new ContainerExistsError(id);
      throw e;
    }
    return this.lock(id);
  }

  /** Exclusive lock on one container's directory, held until release(). */
  lock(id: string): StateLock {
    const fd = this.openDir(id);
    try {
      native().flock(fd, true);
    } catch (e) {
      closeSync(fd);
      throw e;
    }
    return new StateLock(fd);
  }

  /** lock() without blocking the event loop while another holds it. A child this process forks
   *  inherits its open fds (the lock of a container being created among them) until it closes
   *  them early in its start-up; a blocking flock waiting for that stopped every other container
   *  of the process meanwhile (1.3–4 ms per container with 2 or 8 concurrent loops of run() on a
   *  busy machine). */
  async lockAsync(id: string): Promise<StateLock> {
    const fd = this.openDir(id);
    try {
      for (let delay = 1; !native().flock(fd, false); delay = Math.min(delay * 2, 16)) {
        await new Promise((r) => setTimeout(r, delay));
      }
    } catch (e) {
      closeSync(fd);
      throw e;
    }
    return new StateLock(fd);
  }

  private openDir(id: string): number {
    checkId(id);
    try {
      return openSync(this.dir(id), 'r');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new ContainerNotFoundError(id);
      throw e;
    }
  }

  /** The saved state (while create works: its creating record), or null when the directory exists
   *  but create died before writing either. */
  read(id: string): SavedState | null {
    checkId(id);
    const dir = this.dir(id);
    const saved = readJson(join(dir, STATE_FILE)) ?? readJson(join(dir, CREATING_FILE));
    if (saved === undefined) {
      try {
        readdirSync(dir);
      } catch {
        throw new ContainerNotFoundError(id);
      }
      return null;
    }
    return saved;
  }

  /** create's first record, into the directory it has just claimed: a new file, written once
   *  (a reader that finds it incomplete sees no state, as before the file existed). */
  writeCreating(state: SavedState): void {
    writeFileSync(join(this.dir(state.id), CREATING_FILE), JSON.stringify(state), { mode: 0o600, flag: 'wx' });
  }

  /** The state as readers see it, replaced atomically (write and rename). */
  write(state: SavedState): void {
    const file = join(this.dir(state.id), STATE_FILE);
    writeFileSync(`${file}.tmp`, JSON.stringify(state), { mode: 0o600 });
    renameSync(`${file}.tmp`, file);
  }

  remove(id: string): void {
    // The files runt makes, then the directory: no directory walk. Anything else: remove it all.
    const dir = this.dir(id);
    for (const name of [STATE_FILE, CREATING_FILE, EXEC_FIFO]) {
      try {
        unlinkSync(join(dir, name));
      } catch {
        /* not there */
      }
    }
    try {
      rmdirSync(dir);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') rmSync(dir, { recursive: true, force: true });
    }
  }

  ids(): string[] {
    try {
      return readdirSync(this.root, { withFileTypes: true })
        .filter((d) => d.isDirectory())
        .map((d) => d.name)
        .sort();
    } catch {
      return [];
    }
  }

  fifoPath(id: string): string {
    return join(this.dir(id), EXEC_FIFO);
  }
}

/** A JSON file's content; undefined when it is missing or incomplete. */
function readJson(file: string): SavedState | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as SavedState;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT' || e instanceof SyntaxError) return undefined;
    throw e;
  }
}

export class StateLock {
  constructor(private fd: number) {}
  release(): void {
    if (this.fd >= 0) {
      closeSync(this.fd);
      this.fd = -1;
    }
  }

  /** Release once the directory has been removed: the last close of its fd is when the file
   *  system frees the directory's inode (≈ 0.6 ms on ext4 here), so it is closed on the thread
   *  pool and the caller does not wait. Nothing can take this lock any more: the directory has no
   *  name (a process already blocked in flock on it is let go when the close runs). */
  releaseRemoved(): void {
    if (this.fd >= 0) {
      close(this.fd, () => {});
      this.fd = -1;
    }
  }
}
