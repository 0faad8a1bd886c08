// `runt explain --image REF`: where each part of the config comes from (image config field →
// runtime config field) and the rootfs the init will mount, for an image already in the store.
// Nothing is written: the container directory is only named.
import { getLocal } from './local.js';
import { planImageContainer } from './prepare.js';
import type { ImageStore } from './store.js';
import type { Spec } from '../spec/types.js';
import type { Provenance } from './convert.js';

export interface ImageExplanation {
  image: string;
  digest: string;
  /** Snapshot directories, bottom layer first, with the layer each one unpacks. */
  snapshots: Array<{ layer: string; diffId: string; dir: string }>;
  rootfs: { kind: 'overlay'; options: string; target: string } | { kind: 'copy'; target: string };
  provenance: Provenance[];
  spec: Spec;
  bundle: string;
}

export function explainImage(
  store: ImageStore,
  ref: string,
  id: string,
  o: { args?: string[]; entrypoint?: string[] } = {},
): ImageExplanation {
  const img = getLocal(store, ref);
  const planned = planImageContainer(store, id, img, o);
  const target = planned.spec.root?.path ?? '';
  return {
    image: img.name,
    digest: img.descriptor.digest,
    snapshots: img.manifest.layers.map((l, i) => ({ layer: l.digest, diffId: img.config.rootfs.diff_ids[i], dir: planned.snapshots[i] })),
    rootfs: planned.overlay
      ? {
          kind: 'overlay',
          options: `lowerdir=${planned.overlay.lower.join(':')},upperdir=${planned.overlay.upper},workdir=${planned.overlay.work}`,
          target,
        }
      : { kind: 'copy', target },
    provenance: planned.provenance,
    spec: planned.spec,
    bundle: planned.bundle,
  };
}

export function renderImageText(e: ImageExplanation): string {
  const lines = [`image ${e.image} (${e.digest})`, '', 'snapshots (bottom layer first; overlayfs lower directories, read-only)'];
  e.snapshots.forEach((s, i) => lines.push(`  ${String(i).padStart(2)} ${s.layer}  ${s.dir}`));
  lines.push(
    '',
    e.rootfs.kind === 'overlay'
      ? `rootfs: overlay on ${e.rootfs.target}, mounted by the init in the container's mount namespace\n  ${e.rootfs.options}`
      : `rootfs: a full copy of the layers in ${e.rootfs.target} (overlayfs unavailable)`,
  );
  lines.push('', 'config from the image');
  for (const p of e.provenance) lines.push(`  ${p.image.padEnd(34)} -> ${p.runtime.padEnd(30)} ${JSON.stringify(p.value)}`);
  lines.push('');
  return lines.join('\n');
}
