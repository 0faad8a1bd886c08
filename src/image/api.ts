// `rt.images`: the image service, its modules loaded on first use (a Runtime that never touches an
// image loads none of them).
import type { ImageService, ImageSummary } from './service.js';
import type { PullOptions, PulledImage } from './pull.js';
import type { PushOptions } from './push.js';
import type { ArchiveFormat, ImportOptions } from './archive.js';
import type { GcResult } from './gc.js';
import type { LocalImage } from './local.js';

export class ImageApi {
  private service?: Promise<ImageService>;

  constructor(readonly storeDir: string) {}

  private get svc(): Promise<ImageService> {
    this.service ??= import('./service.js').then((m) => new m.ImageService(this.storeDir));
    return this.service;
  }

  async pull(ref: string, opts: PullOptions = {}): Promise<PulledImage> {
    return (await this.svc).pull(ref, opts);
  }
  async list(): Promise<ImageSummary[]> {
    return (await this.svc).list();
  }
  async inspect(ref: string): Promise<LocalImage & { summary: ImageSummary }> {
    return (await this.svc).inspect(ref);
  }
  async remove(ref: string): Promise<GcResult> {
    return (await this.svc).remove(ref);
  }
  async prune(): Promise<GcResult> {
    return (await this.svc).prune();
  }
  async push(dest: string, source?: string, opts: PushOptions = {}): Promise<string> {
    return (await this.svc).push(dest, source, opts);
  }
  async importArchive(file: string, opts: ImportOptions = {}): Promise<string[]> {
    return (await this.svc).importArchive(file, opts);
  }
  async exportArchive(ref: string, file: string, format: ArchiveFormat = 'oci-archive'): Promise<void> {
    return (await this.svc).exportArchive(ref, file, format);
  }
  async bundle(ref: string, dir: string, opts: Parameters<ImageService['bundle']>[2] = {}): Promise<string> {
    return (await this.svc).bundle(ref, dir, opts);
  }
}
