// 13 — an image, layer by layer: three tar layers, a config, a manifest; then the store, the
// snapshots in overlayfs format, and a container whose rootfs is an overlay of them.
//
//   npm run build:ts && node dist/examples/13-image.js
//
// No registry is needed: the example writes the image as an oci-archive (what `skopeo copy …
// oci-archive:` or `runt image export` writes) and imports it into a store of its own.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { lstatSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { Runtime } from '../src/index.js';
import { tarBuffer } from '../src/image/tar-writer.js';
import { chainIds } from '../src/image/digest.js';
import { native } from '../src/native.js';
import { heading, needRootfs, ROOTFS, show } from './lib/show.js';

needRootfs();
const work = mkdtempSync(join(tmpdir(), 'runt-example-13-'));
const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

try {
  heading('1. layers are tar files of changes');
  execFileSync('tar', ['-C', ROOTFS, '--numeric-owner', '-cf', join(work, 'base.tar'), '.']);
  const layers = [
    readFileSync(join(work, 'base.tar')),
    // layer 2 adds a file and deletes one of layer 1 with a whiteout entry
    tarBuffer([
      { name: 'etc/', type: 'dir', mode: 0o755 },
      { name: 'etc/motd', type: 'file', mode: 0o644, data: 'hello from layer 2\n' },
      { name: '.wh.linuxrc', type: 'file', data: '' },
    ]),
    // layer 3 replaces a whole directory: an opaque whiteout, then the new content
    tarBuffer([
      { name: 'home/', type: 'dir', mode: 0o755 },
      { name: 'home/.wh..wh..opq', type: 'file', data: '' },
      { name: 'home/only-this', type: 'file', mode: 0o644, data: 'layer 3\n' },
    ]),
  ];
  layers.forEach((l, i) => show(`layer ${i + 1}`, `${l.length} bytes of tar, diff_id ${sha(l).slice(0, 19)}…`));

  heading('2. the image: gzip blobs, a config listing the diff_ids, a manifest naming blobs by digest');
  const dir = join(work, 'layout');
  mkdirSync(join(dir, 'blobs/sha256'), { recursive: true });
  const put = (b: Buffer) => {
    const d = sha(b);
    writeFileSync(join(dir, 'blobs/sha256', d.slice(7)), b);
    return d;
  };
  const gz = layers.map((l) => gzipSync(l));
  const config = Buffer.from(
    JSON.stringify({
      os: 'linux',
      architecture: 'amd64',
      config: { Cmd: ['sh', '-c', 'cat /etc/motd; ls /home; ls /linuxrc 2>&1; true'], Env: ['PATH=/bin:/sbin'] },
      rootfs: { type: 'layers', diff_ids: layers.map(sha) },
    }),
  );
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: put(config), size: config.length },
      layers: gz.map((g) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: put(g), size: g.length })),
    }),
  );
  const md = put(manifest);
  writeFileSync(join(dir, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  writeFileSync(
    join(dir, 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: md, size: manifest.length }],
    }),
  );
  show('manifest', md);
  show('config', JSON.parse(manifest.toString()).config.digest);
  show(
    'chain ids',
    chainIds(layers.map(sha))
      .map((c) => c.slice(7, 19))
      .join(' → '),
  );
  execFileSync('tar', ['-C', dir, '-cf', join(work, 'image.tar'), '.']);

  heading('3. into a store: blobs by digest, each layer unpacked once into a snapshot');
  const store = join(work, 'store');
  const rt = new Runtime({ root: join(work, 'state'), store });
  const [name] = await rt.images.importArchive(join(work, 'image.tar'), { name: 'example/layers:v1' });
  show('stored as', name);
  const snaps = readdirSync(join(store, 'snapshots'));
  show('snapshots', snaps.length);
  for (const s of chainIds(layers.map(sha))) {
    const diff = join(store, 'snapshots', s.slice(7), 'diff');
    const entries = readdirSync(diff);
    const notes = entries.map((e) => {
      const st = lstatSync(join(diff, e));
      if (st.isCharacterDevice() && st.rdev === 0) return `${e} (whiteout: a 0:0 char device)`;
      if (st.isDirectory() && native().lgetxattr(join(diff, e), 'trusted.overlay.opaque')?.toString() === 'y') return `${e}/ (opaque)`;
      return st.isDirectory() ? `${e}/` : e;
    });
    show(`  ${s.slice(7, 19)}`, notes.length > 8 ? `${notes.slice(0, 8).join(' ')} … (${notes.length})` : notes.join(' '));
  }

  heading('4. a container: an overlay of the snapshots with an upper directory of its own');
  const id = `example-13-${process.pid}`;
  const c = await rt.create(id, { image: name, stdio: ['ignore', 'inherit', 'inherit'] });
  const overlay = JSON.parse(rt.saved(id).spec.annotations?.['org.runt.image.overlay'] ?? '{}') as { lower?: string[] };
  show('lower directories', overlay.lower?.length ?? 'none (a copy: no overlayfs here)');
  await c.start();
  const status = await c.wait();
  await c.delete();
  show('exit', String(status.code));
  show('container directory after delete', readdirSync(join(store, 'containers')).length === 0 ? 'gone' : 'still there');
} finally {
  rmSync(work, { recursive: true, force: true });
}
