// The typed errors of images: each names the reference, the blob or the layer it is about.
import { RuntError } from '../errors.js';

export class ImageError extends RuntError {}

export const imageError = {
  reference: (ref: string, why: string) => new ImageError('EINVALID_REFERENCE', `invalid image reference "${ref}": ${why}`),
  notFound: (ref: string, where = '') => new ImageError('EIMAGE_NOT_FOUND', `image "${ref}" not found${where ? ` ${where}` : ''}`),
  auth: (ref: string, why: string) => new ImageError('EAUTH', `${ref}: ${why}`),
  digest: (what: string, want: string, got: string) =>
    new ImageError('EDIGEST_MISMATCH', `${what}: digest mismatch: expected ${want}, got ${got}`),
  registry: (ref: string, why: string) => new ImageError('EREGISTRY', `${ref}: ${why}`),
  layer: (layer: string, why: string) => new ImageError('ELAYER', `layer ${layer}: ${why}`),
  store: (why: string) => new ImageError('ESTORE', why),
  unsupported: (what: string) => new ImageError('EUNSUPPORTED', what),
};
