// Reading a file of an image (its /etc/passwd, /etc/group) through the snapshots' merged view,
// symlinks resolved inside the image: a layer cannot make runt read a host file.
import { readFileSync } from 'node:fs';
import { OverlayView } from './overlay-view.js';

/** The file's text, or undefined when the image has no such regular file (or it is over 4 MiB). */
export function readImageFile(layersTopFirst: string[], path: string): string | undefined {
  const view = new OverlayView(layersTopFirst);
  let comps: string[];
  try {
    comps = view.resolve(path.split('/'), true);
  } catch {
    return undefined;
  }
  const found = view.lookup(comps);
  if (!found || !found.stat.isFile() || found.stat.size > 4 << 20) return undefined;
  return readFileSync(found.path, 'utf8');
}
