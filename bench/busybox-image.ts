// An OCI image archive with a rootfs as its one uncompressed layer, built here (nothing is pulled),
// for engines to import: the containerd benches and the engine and shim tests. The layout itself is
// test/helpers/oci-layout.ts's.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { writeLayout } from '../test/helpers/oci-layout.js';

const PATH_ENV = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** `rootfs` as one layer, tarred with numeric owners. */
export function rootfsLayer(rootfs: string): Buffer {
  return spawnSync('tar', ['-C', rootfs, '--numeric-owner', '-cf', '-', '.'], { maxBuffer: 1 << 30 }).stdout;
}

/** An oci-archive (a tar of the layout) whose image containerd names `name`, in `dir`; returns its path. */
export function buildBusyboxImage(dir: string, name: string, rootfs: string, cmd: string[] = ['sh']): string {
  const layout = join(dir, 'layout');
  writeLayout(
    layout,
    'latest',
    [rootfsLayer(rootfs)],
    { Env: [PATH_ENV], Cmd: cmd },
    { gzip: false, annotations: { 'io.containerd.image.name': name } },
  );
  const archive = join(dir, 'image.tar');
  spawnSync('tar', ['-C', layout, '-cf', archive, 'oci-layout', 'index.json', 'blobs']);
  return archive;
}
