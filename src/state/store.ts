// The state directory: <root>/<id>/state.json plus the exec fifo, guarded by flock on the directory.
import { closeSync, mkdirSync, openSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Spec } from '../spec/types.js';
import { ContainerExistsError, ContainerNotFoundError, InvalidArgumentError } from '../errors.js';
import { native } from '../native.js';

export const DEFAULT_ROOT = '/run/runt';
export const EXEC_FIFO = 'exec.fifo';

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
  /** Set while `create` is still working: a crash leaves this behind for `delete --force`. */
  creating: boolean;
  /** Started at least once (the exec fifo is gone). */
  started: boolean;
  cgroupPaths: Record<string, string>;
  spec: Spec;
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
    checkId(id);
    let fd: number;
    try {
      fd = openSync(this.dir(id), 'r');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new ContainerNotFoundError(id);
      throw e;
    }
    native().flock(fd, true);
    return new StateLock(fd);
  }

  /** The saved state, or null when the directory exists but create died before writing it. */
  read(id: string): SavedState | null {
    checkId(id);
    try {
      return JSON.parse(readFileSync(join(this.dir(id), 'state.json'), 'utf8')) as SavedState;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') {
        try {
          readdirSync(this.dir(id));
        } catch {
          throw new ContainerNotFoundError(id);
        }
        return null;
      }
      if (e instanceof SyntaxError) return null;
      throw e;
    }
  }

  write(state: SavedState): void {
    const file = join(this.dir(state.id), 'state.json');
    writeFileSync(`${file}.tmp`, JSON.stringify(state), { mode: 0o600 });
    renameSync(`${file}.tmp`, file);
  }

  remove(id: string): void {
    rmSync(this.dir(id), { recursive: true, force: true });
  }

  ids(): string[] {
    try {
      return readdirSync(this.root, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name).sort();
    } catch {
      return [];
    }
  }

  fifoPath(id: string): string {
    return join(this.dir(id), EXEC_FIFO);
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
}
