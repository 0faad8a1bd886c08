// Builds OCI image layouts (directories skopeo and umoci read) from layer tarballs the test makes:
// gzip-compressed (or plain) layers, a config with the right diff_ids, a manifest, index.json naming a
// tag (and any other annotations of the manifest's entry, such as containerd's image name).
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

export interface LayoutImage {
  dir: string;
  manifestDigest: string;
  layerDigests: string[];
}

export function writeLayout(
  dir: string,
  tag: string,
  layers: Buffer[],
  config: Record<string, unknown> = {},
  opts: { gzip?: boolean; diffIds?: string[]; annotations?: Record<string, string> } = {},
): LayoutImage {
  const blobs = join(dir, 'blobs', 'sha256');
  mkdirSync(blobs, { recursive: true });
  const put = (b: Buffer) => {
    const d = sha(b);
    writeFileSync(join(blobs, d.slice(7)), b);
    return d;
  };
  const descs = layers.map((tar) => {
    const body = opts.gzip === false ? tar : gzipSync(tar);
    return {
      mediaType: opts.gzip === false ? 'application/vnd.oci.image.layer.v1.tar' : 'application/vnd.oci.image.layer.v1.tar+gzip',
      digest: put(body),
      size: body.length,
    };
  });
  const cfg = Buffer.from(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      created: '2026-01-01T00:00:00Z',
      config: { Env: ['PATH=/usr/sbin:/usr/bin:/sbin:/bin'], Cmd: ['sh'], ...config },
      rootfs: { type: 'layers', diff_ids: opts.diffIds ?? layers.map(sha) },
    }),
  );
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: put(cfg), size: cfg.length },
      layers: descs,
    }),
  );
  const md = put(manifest);
  writeFileSync(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  writeFileSync(
    join(dir, 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [
        {
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          digest: md,
          size: manifest.length,
          annotations: { ...opts.annotations, 'org.opencontainers.image.ref.name': tag },
        },
      ],
    }),
  );
  return { dir, manifestDigest: md, layerDigests: descs.map((d) => d.digest) };
}
