// `runt image import|export`: images in and out of the store as oci-archive (a tar of an OCI image
// layout) and docker-archive (`docker save`'s manifest.json, config and layer tars). Import reads
// the tar as a stream: every file goes to the store's temp area with its sha256 computed on the
// way, and only blobs whose names and digests agree enter the store.
import {
  createReadStream,
  createWriteStream,
  mkdirSync,
  openSync,
  closeSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeSync,
  existsSync,
} from 'node:fs';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { newHash, hexOf } from './digest.js';
import { imageError, ImageError } from './errors.js';
import { getLocal } from './local.js';
import { MT, type Descriptor, type ImageConfig, type ImageIndex, type Manifest, type Platform } from './media-types.js';
import { hostPlatform, selectManifest, formatPlatform } from './platform.js';
import { formatReference, parseReference } from './reference.js';
import { REF_NAME, type ImageStore } from './store.js';
import { readTar } from './tar.js';
import { tarHeader, padding, TAR_END } from './tar-writer.js';
import { ensureSnapshots } from './snapshots.js';
import type { UnpackLimits } from './unpack.js';
import { isIndex } from './pull.js';
import { createDecompress, sniffCompression } from './decompress.js';

export type ArchiveFormat = 'oci-archive' | 'docker-archive';

interface Extracted {
  path: string;
  digest: string;
  size: number;
}

/** Regular files of the archive into dir, by archive path (never by the path as a file name). */
async function extractAll(file: string, dir: string): Promise<Map<string, Extracted>> {
  const files = new Map<string, Extracted>();
  let n = 0;
  const decoder = createDecompress(sniffCompression(file));
  const source = decoder ? createReadStream(file).pipe(decoder) : createReadStream(file);
  for await (const { entry, body } of readTar(source as AsyncIterable<Buffer>)) {
    if (entry.type !== 'file') continue;
    const name = entry.name.replace(/^(\.\/)+/, '').replace(/^\/+/, '');
    const path = join(dir, String(n++));
    const fd = openSync(path, 'wx', 0o600);
    const h = newHash();
    let size = 0;
    try {
      for await (const c of body) {
        h.update(c);
        size += c.length;
        let off = 0;
        while (off < c.length) off += writeSync(fd, c, off);
      }
    } finally {
      closeSync(fd);
    }
    files.set(name, { path, digest: `sha256:${h.digest('hex')}`, size });
  }
  return files;
}

function moveBlob(store: ImageStore, f: Extracted): void {
  if (store.hasBlob(f.digest)) return;
  renameSync(f.path, store.blobPath(f.digest));
}

export interface ImportOptions {
  /** Name the image (else the archive's own name, else "localhost/imported:latest"). */
  name?: string;
  platform?: Platform;
  limits?: UnpackLimits;
}

/** Imports the archive; returns the names it stored. */
export async function importArchive(store: ImageStore, file: string, opts: ImportOptions = {}): Promise<string[]> {
  store.init();
  try {
    statSync(file);
  } catch {
    throw imageError.store(`${file}: no such archive`);
  }
  const lock = await store.lock();
  const tmp = store.tempPath('import');
  mkdirSync(tmp, { mode: 0o700 });
  try {
    let files: Map<string, Extracted>;
    try {
      files = await extractAll(file, tmp);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOSPC') throw imageError.store(`${file}: no space left in the store ${store.dir}`);
      throw imageError.store(`${file}: not a readable tar archive: ${(e as Error).message}`);
    }
    const names = files.has('oci-layout')
      ? await importOci(store, file, files, opts)
      : files.has('manifest.json')
        ? await importDocker(store, file, files, opts)
        : undefined;
    if (!names) throw imageError.store(`${file}: neither an oci-archive (no oci-layout) nor a docker-archive (no manifest.json)`);
    return names;
  } catch (e) {
    if (e instanceof ImageError) throw e;
    throw imageError.store(`${file}: ${(e as Error).message}`);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
    lock.release();
  }
}

async function importOci(store: ImageStore, file: string, files: Map<string, Extracted>, opts: ImportOptions): Promise<string[]> {
  const blob = (digest: string): Extracted => {
    const f = files.get(`blobs/sha256/${hexOf(digest)}`);
    if (!f) throw imageError.store(`${file}: blob ${digest} is missing`);
    if (f.digest !== digest) throw imageError.digest(`${file}: blob ${digest}`, digest, f.digest);
    return f;
  };
  const json = <T>(digest: string): T => JSON.parse(readFileSync(blob(digest).path, 'utf8')) as T;
  const indexFile = files.get('index.json');
  if (!indexFile) throw imageError.store(`${file}: no index.json`);
  const index = JSON.parse(readFileSync(indexFile.path, 'utf8')) as ImageIndex;
  const out: string[] = [];
  for (const top of index.manifests ?? []) {
    let desc: Descriptor = top;
    let m = json<Manifest | ImageIndex>(desc.digest);
    if (isIndex(m, desc.mediaType)) {
      desc = selectManifest(m.manifests, opts.platform ?? hostPlatform(), file);
      m = json<Manifest>(desc.digest);
    }
    const manifest = m as Manifest;
    for (const d of [manifest.config, ...manifest.layers]) moveBlob(store, blob(d.digest));
    moveBlob(store, blob(desc.digest));
    const config = store.readJsonBlob<ImageConfig>(manifest.config.digest);
    await ensureSnapshots(store, manifest.layers, config.rootfs.diff_ids, opts.limits);
    const refName = top.annotations?.[REF_NAME];
    const name = opts.name
      ? formatReference(parseReference(opts.name))
      : refName && !/^[\w][\w.-]*$/.test(refName)
        ? formatReference(parseReference(refName))
        : formatReference(parseReference(`localhost/imported:${refName ?? 'latest'}`));
    store.tag(name, {
      mediaType: manifest.mediaType ?? desc.mediaType ?? MT.ociManifest,
      digest: desc.digest,
      size: desc.size,
      annotations: { 'org.opencontainers.image.platform': formatPlatform(opts.platform ?? hostPlatform()) },
    });
    out.push(name);
    if (opts.name) break;
  }
  if (!out.length) throw imageError.store(`${file}: the archive names no image`);
  return out;
}

async function importDocker(store: ImageStore, file: string, files: Map<string, Extracted>, opts: ImportOptions): Promise<string[]> {
  const list = JSON.parse(readFileSync((files.get('manifest.json') as Extracted).path, 'utf8')) as Array<{
    Config: string;
    RepoTags?: string[];
    Layers: string[];
  }>;
  const out: string[] = [];
  for (const item of list) {
    const get = (p: string) => {
      const f = files.get(p);
      if (!f) throw imageError.store(`${file}: ${p} is missing`);
      return f;
    };
    const configFile = get(item.Config);
    const config = JSON.parse(readFileSync(configFile.path, 'utf8')) as ImageConfig;
    const layers: Descriptor[] = item.Layers.map((p) => {
      const f = get(p);
      const kind = sniffCompression(f.path);
      const mediaType = kind === 'gzip' ? MT.ociLayerGzip : kind === 'zstd' ? MT.ociLayerZstd : MT.ociLayer;
      return { mediaType, digest: f.digest, size: f.size };
    });
    for (const p of [item.Config, ...item.Layers]) moveBlob(store, get(p));
    const manifest: Manifest = {
      schemaVersion: 2,
      mediaType: MT.ociManifest,
      config: { mediaType: MT.ociConfig, digest: configFile.digest, size: configFile.size },
      layers,
    };
    const body = Buffer.from(JSON.stringify(manifest));
    const digest = store.putBlob(body);
    await ensureSnapshots(store, layers, config.rootfs.diff_ids, opts.limits);
    const tags = opts.name ? [opts.name] : item.RepoTags?.length ? item.RepoTags : ['localhost/imported:latest'];
    for (const t of tags) {
      const name = formatReference(parseReference(t));
      store.tag(name, {
        mediaType: MT.ociManifest,
        digest,
        size: body.length,
        annotations: { 'org.opencontainers.image.platform': `${config.os ?? 'linux'}/${config.architecture ?? 'amd64'}` },
      });
      out.push(name);
    }
    if (opts.name) break;
  }
  return out;
}

class TarOut {
  private fd: number;
  constructor(readonly path: string) {
    this.fd = openSync(path, 'wx', 0o644);
  }
  write(b: Buffer): void {
    let off = 0;
    while (off < b.length) off += writeSync(this.fd, b, off);
  }
  file(name: string, data: Buffer): void {
    this.write(tarHeader({ name, type: 'file', mode: 0o644, size: data.length }));
    this.write(data);
    this.write(padding(data.length));
  }
  async fileFrom(name: string, path: string): Promise<void> {
    const size = statSync(path).size;
    this.write(tarHeader({ name, type: 'file', mode: 0o644, size }));
    for await (const c of createReadStream(path)) this.write(c as Buffer);
    this.write(padding(size));
  }
  dir(name: string): void {
    this.write(tarHeader({ name, type: 'dir', mode: 0o755 }));
  }
  close(): void {
    this.write(TAR_END);
    closeSync(this.fd);
  }
  abort(): void {
    try {
      closeSync(this.fd);
    } catch {
      /* closed */
    }
  }
}

/** Writes the stored image `ref` to `file` (created; it must not exist). */
export async function exportArchive(store: ImageStore, ref: string, file: string, format: ArchiveFormat = 'oci-archive'): Promise<void> {
  const img = getLocal(store, ref);
  if (existsSync(file)) throw imageError.store(`${file} exists: give a new file`);
  const tmp = `${file}.tmp.${process.pid}`;
  const out = new TarOut(tmp);
  const scratch: string[] = [];
  try {
    if (format === 'oci-archive') {
      out.file('oci-layout', Buffer.from(JSON.stringify({ imageLayoutVersion: '1.0.0' })));
      const index: ImageIndex = {
        schemaVersion: 2,
        mediaType: MT.ociIndex,
        manifests: [
          {
            mediaType: img.descriptor.mediaType,
            digest: img.descriptor.digest,
            size: img.descriptor.size,
            annotations: { [REF_NAME]: img.name },
          },
        ],
      };
      out.file('index.json', Buffer.from(JSON.stringify(index)));
      out.dir('blobs/');
      out.dir('blobs/sha256/');
      for (const d of [img.descriptor, img.manifest.config, ...img.manifest.layers])
        await out.fileFrom(`blobs/sha256/${hexOf(d.digest)}`, store.blobPath(d.digest));
    } else {
      // docker-archive: uncompressed layer tars named by diff_id, the config by its digest.
      const layerPaths: string[] = [];
      for (let i = 0; i < img.manifest.layers.length; i++) {
        const l = img.manifest.layers[i];
        const diffId = img.config.rootfs.diff_ids[i];
        const name = `${hexOf(diffId)}/layer.tar`;
        let path = store.blobPath(l.digest);
        const decoder = createDecompress(sniffCompression(path));
        if (decoder) {
          const plain = store.tempPath('export-layer');
          scratch.push(plain);
          await pipeline(createReadStream(path), decoder, createWriteStream(plain, { mode: 0o600 }));
          path = plain;
        }
        out.dir(`${hexOf(diffId)}/`);
        await out.fileFrom(name, path);
        layerPaths.push(name);
      }
      const configName = `${hexOf(img.manifest.config.digest)}.json`;
      await out.fileFrom(configName, store.blobPath(img.manifest.config.digest));
      const r = parseReference(img.name);
      const tags = r.tag ? [`${r.domain}/${r.path}:${r.tag}`] : [];
      out.file('manifest.json', Buffer.from(JSON.stringify([{ Config: configName, RepoTags: tags, Layers: layerPaths }])));
    }
    out.close();
    renameSync(tmp, file);
  } catch (e) {
    out.abort();
    rmSync(tmp, { force: true });
    throw e;
  } finally {
    for (const s of scratch) rmSync(s, { force: true });
  }
}
