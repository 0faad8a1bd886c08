// `runt image push`: an image of the store to a registry: each blob the registry lacks (HEAD first)
// by a monolithic upload (POST, then PUT ?digest=), then the manifest under the tag.
import { createReadStream } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { credentialsFor, type CredentialOptions } from './credentials.js';
import { imageError, ImageError } from './errors.js';
import { readBody } from './http.js';
import { getLocal } from './local.js';
import type { Descriptor } from './media-types.js';
import { formatReference, parseReference } from './reference.js';
import { RegistryClient, type RegistryOptions } from './registry.js';
import type { ImageStore } from './store.js';

export interface PushOptions extends CredentialOptions, Pick<RegistryOptions, 'insecure' | 'timeoutMs'> {
  onProgress?: (
    e: { event: 'blob'; digest: string; status: 'exists' | 'uploaded' } | { event: 'done'; ref: string; digest: string },
  ) => void;
}

async function errorText(res: IncomingMessage): Promise<string> {
  try {
    const body = (await readBody(res, 64 << 10)).toString('utf8');
    const j = JSON.parse(body) as { errors?: Array<{ code?: string; message?: string }> };
    return j.errors?.map((e) => `${e.code ?? ''} ${e.message ?? ''}`.trim()).join('; ') || body.slice(0, 200);
  } catch {
    return '';
  }
}

/** Pushes the stored image `source` (default: `dest` itself) to the registry reference `dest`. */
export async function pushImage(store: ImageStore, dest: string, source = dest, opts: PushOptions = {}): Promise<string> {
  const img = getLocal(store, source);
  const ref = parseReference(dest);
  const name = formatReference(ref);
  const client = new RegistryClient(ref, {
    insecure: opts.insecure,
    timeoutMs: opts.timeoutMs,
    credentials: credentialsFor(ref.domain, opts),
  });
  const scope = `repository:${ref.path}:pull,push`;
  try {
    const blobs: Descriptor[] = [img.manifest.config, ...img.manifest.layers];
    for (const b of blobs) {
      const head = await client.request('HEAD', `/v2/${ref.path}/blobs/${b.digest}`, {}, undefined, scope);
      head.resume();
      if (head.statusCode === 200) {
        opts.onProgress?.({ event: 'blob', digest: b.digest, status: 'exists' });
        continue;
      }
      const start = await client.request('POST', `/v2/${ref.path}/blobs/uploads/`, { 'content-length': '0' }, Buffer.alloc(0), scope);
      const location = start.headers.location;
      if (start.statusCode !== 202 || !location)
        throw imageError.registry(name, `registry refused an upload (${start.statusCode}): ${await errorText(start)}`);
      start.resume();
      const url = new URL(location, `http://placeholder`);
      url.searchParams.set('digest', b.digest);
      const target = location.startsWith('http') ? url.toString() : `${url.pathname}${url.search}`;
      const path = store.blobPath(b.digest);
      const put = await client.request(
        'PUT',
        target,
        { 'content-type': 'application/octet-stream', 'content-length': String(b.size) },
        () => createReadStream(path),
        scope,
      );
      if (put.statusCode !== 201)
        throw imageError.registry(name, `upload of blob ${b.digest} failed (${put.statusCode}): ${await errorText(put)}`);
      put.resume();
      opts.onProgress?.({ event: 'blob', digest: b.digest, status: 'uploaded' });
    }
    const manifest = store.readBlob(img.descriptor.digest);
    const tag = ref.digest ?? ref.tag ?? 'latest';
    const res = await client.request(
      'PUT',
      `/v2/${ref.path}/manifests/${tag}`,
      { 'content-type': img.descriptor.mediaType, 'content-length': String(manifest.length) },
      manifest,
      scope,
    );
    if (res.statusCode !== 201)
      throw imageError.registry(name, `registry refused the manifest (${res.statusCode}): ${await errorText(res)}`);
    res.resume();
    opts.onProgress?.({ event: 'done', ref: name, digest: img.descriptor.digest });
    return img.descriptor.digest;
  } catch (e) {
    if (e instanceof ImageError) throw e;
    throw imageError.registry(name, (e as Error).message);
  } finally {
    client.close();
  }
}
