// The image store: an OCI image layout (oci-layout, index.json, blobs/sha256/…) plus runt's own
// unpacked snapshots and the writable layers of containers made from images:
//   <store>/oci-layout, index.json, blobs/sha256/<hex>
//   <store>/tmp/          partial downloads (<hex>.partial, resumed) and work in progress
//   <store>/snapshots/<chain-id hex>/   one unpacked layer each (overlayfs lower directory)
//   <store>/containers/<id>/            a container's bundle, upper and work directories
// Every file appears by rename, whole. Writers hold <store>/lock: pulls and image containers shared
// (pulls lock each blob they download and index.json's writes; a container or bundle holds it until
// its snapshots are unpacked and kept by image.json or copied), rm, prune and import exclusive.
import {
  closeSync,
  constants as C,
  existsSync,
  fstatSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
  type Stats,
} from 'node:fs';
import { join } from 'node:path';
import { native } from '../native.js';
import { hexOf, sha256 } from './digest.js';
import { imageError } from './errors.js';
import type { Descriptor, ImageIndex } from './media-types.js';
import { MT } from './media-types.js';

export { DEFAULT_STORE } from '../store-root.js';
import { DEFAULT_STORE } from '../store-root.js';
export const REF_NAME = 'org.opencontainers.image.ref.name';

export class ImageStore {
  constructor(readonly dir: string = DEFAULT_STORE) {}

  get blobsDir(): string {
    return join(this.dir, 'blobs', 'sha256');
  }
  get tmpDir(): string {
    return join(this.dir, 'tmp');
  }
  get snapshotsDir(): string {
    return join(this.dir, 'snapshots');
  }
  get containersDir(): string {
    return join(this.dir, 'containers');
  }

  /** Creates the layout on first use. */
  init(): void {
    for (const d of [this.blobsDir, this.tmpDir, this.snapshotsDir, this.containersDir]) mkdirSync(d, { recursive: true, mode: 0o700 });
    if (!existsSync(join(this.dir, 'oci-layout')))
      this.writeAtomic(join(this.dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
    if (!existsSync(join(this.dir, 'index.json')))
      this.writeAtomic(join(this.dir, 'index.json'), JSON.stringify({ schemaVersion: 2, mediaType: MT.ociIndex, manifests: [] }));
  }

  blobPath(digest: string): string {
    return join(this.blobsDir, hexOf(digest));
  }

  hasBlob(digest: string): boolean {
    return existsSync(this.blobPath(digest));
  }

  readBlob(digest: string): Buffer {
    try {
      return readFileSync(this.blobPath(digest));
    } catch {
      throw imageError.store(`blob ${digest} is not in the store ${this.dir}`);
    }
  }

  readJsonBlob<T>(digest: string): T {
    const data = this.readBlob(digest);
    if (sha256(data) !== digest) throw imageError.digest(`blob ${digest} in the store`, digest, sha256(data));
    return JSON.parse(data.toString('utf8')) as T;
  }

  /** Stores small content (manifests, configs) after checking its digest. */
  putBlob(data: Buffer, digest = sha256(data)): string {
    if (sha256(data) !== digest) throw imageError.digest('blob', digest, sha256(data));
    if (!this.hasBlob(digest)) this.writeAtomic(this.blobPath(digest), data);
    return digest;
  }

  tempPath(label: string): string {
    return join(this.tmpDir, `${label}.${process.pid}.${uniqueSuffix()}`);
  }

  writeAtomic(path: string, data: string | Buffer): void {
    const tmp = `${path}.tmp.${process.pid}.${uniqueSuffix()}`;
    const fd = openSync(tmp, 'wx', 0o644);
    try {
      writeFileSync(fd, data);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    try {
      renameSync(tmp, path);
    } catch (e) {
      rmSync(tmp, { force: true });
      throw e;
    }
  }

  index(): ImageIndex {
    try {
      return JSON.parse(readFileSync(join(this.dir, 'index.json'), 'utf8')) as ImageIndex;
    } catch {
      return { schemaVersion: 2, mediaType: MT.ociIndex, manifests: [] };
    }
  }

  writeIndex(index: ImageIndex): void {
    this.writeAtomic(join(this.dir, 'index.json'), `${JSON.stringify(index, null, 2)}\n`);
  }

  /** The index entry named `name` (a full reference), if any. */
  lookup(name: string): Descriptor | undefined {
    return this.index().manifests.find((m) => m.annotations?.[REF_NAME] === name);
  }

  /** Names `desc` as `name`, replacing what the name pointed to. Call with the lock held (shared will do). */
  tag(name: string, desc: Descriptor): void {
    this.withIndexLock(() => this.tagLocked(name, desc));
  }

  private tagLocked(name: string, desc: Descriptor): void {
    const index = this.index();
    index.manifests = index.manifests.filter((m) => m.annotations?.[REF_NAME] !== name);
    index.manifests.push({
      mediaType: desc.mediaType,
      digest: desc.digest,
      size: desc.size,
      annotations: { ...(desc.annotations ?? {}), [REF_NAME]: name },
    });
    this.writeIndex(index);
  }

  untag(name: string): boolean {
    return this.withIndexLock(() => this.untagLocked(name));
  }

  private untagLocked(name: string): boolean {
    const index = this.index();
    const before = index.manifests.length;
    index.manifests = index.manifests.filter((m) => m.annotations?.[REF_NAME] !== name);
    if (index.manifests.length === before) return false;
    this.writeIndex(index);
    return true;
  }

  /**
   * The store's lock, held until release(). Exclusive for what removes blobs, snapshots or names
   * others may be using (rm, prune, import); shared for pulls, so that pulls of different images
   * run at once while none of them meets a garbage collection. Pulls coordinate between themselves
   * per blob (lockFile on its partial download) and per write of index.json (tag).
   */
  async lock(mode: 'exclusive' | 'shared' = 'exclusive'): Promise<{ release(): void }> {
    this.init();
    const fd = openSync(join(this.dir, 'lock'), 'a', 0o600);
    while (!native().flock(fd, false, mode === 'shared')) await new Promise((r) => setTimeout(r, 50));
    return { release: () => closeSync(fd) };
  }

  /**
   * An exclusive flock on `path` (created empty if missing), held until release(). The holder may
   * rename or remove the file (a finished download becomes its blob): a waiter that then gets the
   * lock finds its descriptor no longer names `path`, and tries again on what is there now.
   */
  async lockFile(path: string): Promise<{ release(): void }> {
    for (;;) {
      const fd = openSync(path, C.O_RDWR | C.O_CREAT | C.O_NOFOLLOW, 0o600);
      while (!native().flock(fd, false)) await new Promise((r) => setTimeout(r, 50));
      const held = fstatSync(fd);
      let now: Stats | undefined;
      try {
        now = statSync(path);
      } catch {
        // removed or renamed by the previous holder
      }
      if (now && now.ino === held.ino && now.dev === held.dev) return { release: () => closeSync(fd) };
      closeSync(fd);
    }
  }

  /** fn with <store>/index.lock held: read-modify-writes of index.json by concurrent pulls do not
   *  lose each other's names. Held for a few ms, so waited for in place. */
  private withIndexLock<T>(fn: () => T): T {
    const fd = openSync(join(this.dir, 'index.lock'), 'a', 0o600);
    try {
      native().flock(fd, true);
      return fn();
    } finally {
      closeSync(fd);
    }
  }

  /** Blob and snapshot directories present (for GC and `image ls` sizes). */
  blobDigests(): string[] {
    try {
      return readdirSync(this.blobsDir)
        .filter((f) => /^[a-f0-9]{64}$/.test(f))
        .map((f) => `sha256:${f}`);
    } catch {
      return [];
    }
  }

  blobSize(digest: string): number {
    try {
      return statSync(this.blobPath(digest)).size;
    } catch {
      return 0;
    }
  }
}

/** 8 random hex digits for a temporary name beside the pid, without loading node:crypto: a clash
 *  needs a process of the same pid (another pid namespace) drawing the same 32 bits. */
function uniqueSuffix(): string {
  return Math.floor(Math.random() * 0x100000000)
    .toString(16)
    .padStart(8, '0');
}
