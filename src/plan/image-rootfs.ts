// A container made from an image (src/image/prepare.ts) has an empty rootfs directory and, in the
// annotation org.runt.image.overlay, the snapshots and its own upper directory: its init mounts
// the overlay there, in its own mount namespace, where the plain bundle would get a bind mount.
import { isAbsolute } from 'node:path';
import type { Spec } from '../spec/types.js';
import type { MountStep } from './steps.js';
import { PlanError } from '../errors.js';

export const OVERLAY_ANNOTATION = 'org.runt.image.overlay';
const FIELD = `annotations["${OVERLAY_ANNOTATION}"]`;
/** mount(2) copies at most one page of options. */
const MAX_DATA = 4095;

export function imageOverlayStep(spec: Spec, rootfs: string, newMountNs: boolean): MountStep | undefined {
  const raw = spec.annotations?.[OVERLAY_ANNOTATION];
  if (raw === undefined) return undefined;
  let o: { lower?: unknown; upper?: unknown; work?: unknown };
  try {
    o = JSON.parse(raw) as typeof o;
  } catch {
    throw new PlanError(FIELD, 'is not JSON ({"lower":[…],"upper":…,"work":…})');
  }
  const paths = [...(Array.isArray(o.lower) ? o.lower : [null]), o.upper, o.work];
  for (const p of paths) {
    if (typeof p !== 'string' || !isAbsolute(p) || /[,:\\\n]/.test(p))
      throw new PlanError(FIELD, `needs absolute lower, upper and work paths without ',' ':' or '\\\\' (got ${JSON.stringify(p)})`);
  }
  if ((o.lower as string[]).length === 0) throw new PlanError(FIELD, 'has no lower directory');
  if (!newMountNs) throw new PlanError(FIELD, 'an image rootfs overlay needs a new mount namespace (linux.namespaces: mount)');
  const data = `lowerdir=${(o.lower as string[]).join(':')},upperdir=${o.upper as string},workdir=${o.work as string}`;
  if (data.length > MAX_DATA)
    throw new PlanError(
      FIELD,
      `overlay options are ${data.length} bytes, more than mount(2) takes (${MAX_DATA}): too many layers or a too long store path`,
    );
  return {
    op: 'mount',
    source: 'overlay',
    target: rootfs,
    fstype: 'overlay',
    flags: 0,
    data,
    targetInRoot: false,
    mkdir: 'none',
    field: FIELD,
    why: "the image's snapshots, read-only, under the container's own upper directory",
  };
}
