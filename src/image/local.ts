// Images already in the store, found by name (as typed, normalised) or by manifest digest.
import { imageError } from './errors.js';
import type { Descriptor, ImageConfig, Manifest } from './media-types.js';
import { formatReference, parseReference } from './reference.js';
import { REF_NAME, type ImageStore } from './store.js';

export interface LocalImage {
  name: string;
  descriptor: Descriptor;
  manifest: Manifest;
  config: ImageConfig;
}

export function localName(ref: string): string {
  return formatReference(parseReference(ref));
}

/** The stored image `ref` names, or undefined. */
export function findLocal(store: ImageStore, ref: string): LocalImage | undefined {
  const index = store.index();
  let desc: Descriptor | undefined;
  if (/^(sha256:)?[a-f0-9]{12,64}$/.test(ref)) {
    const hex = ref.replace(/^sha256:/, '');
    desc = index.manifests.find((m) => m.digest.slice(7).startsWith(hex));
  }
  if (!desc) {
    const name = localName(ref);
    desc = index.manifests.find((m) => m.annotations?.[REF_NAME] === name);
    // name@digest: any entry with that digest will do
    const r = parseReference(ref);
    if (!desc && r.digest) desc = index.manifests.find((m) => m.digest === r.digest);
  }
  if (!desc) return undefined;
  const manifest = store.readJsonBlob<Manifest>(desc.digest);
  const config = store.readJsonBlob<ImageConfig>(manifest.config.digest);
  return { name: desc.annotations?.[REF_NAME] ?? desc.digest, descriptor: desc, manifest, config };
}

export function getLocal(store: ImageStore, ref: string): LocalImage {
  const img = findLocal(store, ref);
  if (!img) throw imageError.notFound(ref, `in the store ${store.dir} (pull it first: runt image pull ${ref})`);
  return img;
}
