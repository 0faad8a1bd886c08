// An OCI image with a rootfs as its one uncompressed layer, built here (nothing is pulled): as an
// image layout directory (oci-layout, index.json, blobs) or as an archive of one, for engines to
// import. Used by the containerd shim's bench and by the engine, shim and volume tests.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const PATH_ENV = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export interface LayoutOptions {
  /** The image config's `config` (Env, Cmd, Volumes…). Default: PATH and Cmd ["sh"]. */
  config?: Record<string, unknown>;
  /** io.containerd.image.name of the one manifest (the name engines import it as). */
  name?: string;
}

/** Write an OCI image layout of `rootfs` (tarred with numeric owners) into `layout`. */
export function writeOciLayout(layout: string, rootfs: string, o: LayoutOptions = {}): void {
  mkdirSync(join(layout, 'blobs/sha256'), { recursive: true });
  const blob = (b: Buffer) => {
    const d = createHash('sha256').update(b).digest('hex');
    writeFileSync(join(layout, 'blobs/sha256', d), b);
    return { digest: `sha256:${d}`, size: b.length };
  };
  const json = (v: unknown) => blob(Buffer.from(JSON.stringify(v)));
  const layer = blob(spawnSync('tar', ['-C', rootfs, '--numeric-owner', '-cf', '-', '.'], { maxBuffer: 1 << 30 }).stdout);
  const config = json({
    architecture: 'amd64',
    os: 'linux',
    config: o.config ?? { Env: [PATH_ENV], Cmd: ['sh'] },
    rootfs: { type: 'layers', diff_ids: [layer.digest] },
  });
  const manifest = json({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
    layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', ...layer }],
  });
  writeFileSync(join(layout, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  const annotations: Record<string, string> = { 'org.opencontainers.image.ref.name': 'latest' };
  if (o.name) annotations['io.containerd.image.name'] = o.name;
  writeFileSync(
    join(layout, 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', ...manifest, annotations }],
    }),
  );
}

/** An oci-archive (a tar of the layout) named `name`, in `dir`; returns its path. */
export function buildBusyboxImage(dir: string, name: string, rootfs: string, cmd: string[] = ['sh']): string {
  const layout = join(dir, 'layout');
  writeOciLayout(layout, rootfs, { name, config: { Env: [PATH_ENV], Cmd: cmd } });
  const archive = join(dir, 'image.tar');
  spawnSync('tar', ['-C', layout, '-cf', archive, 'oci-layout', 'index.json', 'blobs']);
  return archive;
}
