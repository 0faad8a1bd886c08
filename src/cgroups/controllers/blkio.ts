// blkio (v1) and io (v2): weights, per-device weights and throttles.
import { CgroupError } from '../../errors.js';
import { blkioWeightToIoWeight, ioMaxLine } from '../convert.js';
import { isCgroupErrno } from '../fs.js';
import type { WritePlanner } from '../writes.js';
import { type CgroupController, F } from './controller.js';

const P = `${F}.blockIO`;

const THROTTLES = [
  ['throttleReadBpsDevice', 'blkio.throttle.read_bps_device', 'rbps'],
  ['throttleWriteBpsDevice', 'blkio.throttle.write_bps_device', 'wbps'],
  ['throttleReadIOPSDevice', 'blkio.throttle.read_iops_device', 'riops'],
  ['throttleWriteIOPSDevice', 'blkio.throttle.write_iops_device', 'wiops'],
] as const;

/** The first of `files` that dir has (the kernel renamed some, e.g. blkio.weight under BFQ). */
function firstExisting(c: WritePlanner, dir: string, files: string[]): string | undefined {
  return files.find((f) => c.has(dir, f));
}

export const blkio: CgroupController = {
  resource: 'blockIO',
  v1(r, c) {
    const b = r.blockIO;
    if (!b) return;
    const dir = () => c.dir('blkio', P);
    if (b.weight) {
      const file = firstExisting(c, dir(), ['blkio.weight', 'blkio.bfq.weight']);
      if (!file) throw new CgroupError(`${P}.weight: this kernel has no blkio.weight or blkio.bfq.weight (no CFQ/BFQ scheduler)`);
      c.write(dir(), file, String(b.weight), `${P}.weight`);
    }
    if (b.leafWeight) writeLeaf(c, dir(), 'blkio.leaf_weight', String(b.leafWeight), `${P}.leafWeight`);
    (b.weightDevice ?? []).forEach((d, i) => {
      const field = `${P}.weightDevice[${i}]`;
      if (d.weight) {
        const file = firstExisting(c, dir(), ['blkio.weight_device', 'blkio.bfq.weight_device']);
        if (!file) throw new CgroupError(`${field}.weight: this kernel has no blkio.weight_device or blkio.bfq.weight_device`);
        c.write(dir(), file, `${d.major}:${d.minor} ${d.weight}`, `${field}.weight`);
      }
      if (d.leafWeight) writeLeaf(c, dir(), 'blkio.leaf_weight_device', `${d.major}:${d.minor} ${d.leafWeight}`, `${field}.leafWeight`);
    });
    for (const [key, file] of THROTTLES) {
      (b[key] ?? []).forEach((d, i) => c.write(dir(), file, `${d.major}:${d.minor} ${d.rate}`, `${P}.${key}[${i}]`));
    }
  },
  v2(r, c) {
    const b = r.blockIO;
    if (!b) return;
    const dir = c.dir('io', P);
    // BFQ's io.bfq.weight takes the v1 range as is; io.weight needs the conversion.
    const bfq = c.has(dir, 'io.bfq.weight', false);
    if (b.weight) {
      if (bfq) c.writeV2(dir, 'io.bfq.weight', String(b.weight), `${P}.weight`);
      else c.writeV2(dir, 'io.weight', String(blkioWeightToIoWeight(b.weight)), `${P}.weight`);
    }
    if (b.leafWeight) throw new CgroupError(`${P}.leafWeight: cgroup v2 has no leaf weights`);
    (b.weightDevice ?? []).forEach((d, i) => {
      const field = `${P}.weightDevice[${i}]`;
      if (d.leafWeight) throw new CgroupError(`${field}.leafWeight: cgroup v2 has no leaf weights`);
      if (!d.weight) return;
      if (bfq) c.writeV2(dir, 'io.bfq.weight', `${d.major}:${d.minor} ${d.weight}`, `${field}.weight`);
      else {
        // The real kernel refuses a per-device io.weight (EOPNOTSUPP) unless the io cost model is
        // enabled for that device (`enable=1` in the root's io.cost.qos): say so instead of the errno.
        c.writeV2(dir, 'io.weight', `${d.major}:${d.minor} ${blkioWeightToIoWeight(d.weight)}`, `${field}.weight`, {
          explainFailure: (e) =>
            isCgroupErrno(e, 'EOPNOTSUPP') || isCgroupErrno(e, 'ENOTSUP')
              ? `${field}.weight: the kernel has no per-device weight for ${d.major}:${d.minor} (io.weight needs the io cost model enabled for it in io.cost.qos, or the BFQ scheduler)`
              : undefined,
        });
      }
    });
    for (const [key, , name] of THROTTLES) {
      (b[key] ?? []).forEach((d, i) => c.writeV2(dir, 'io.max', ioMaxLine(d.major, d.minor, name, d.rate), `${P}.${key}[${i}]`));
    }
  },
};

/** Leaf weights existed only with the CFQ scheduler (removed in Linux 5.0). */
function writeLeaf(c: WritePlanner, dir: string, file: string, value: string, field: string): void {
  if (!c.has(dir, file)) {
    c.warn(`${field}: ignored, this kernel has no ${file} (CFQ only)`);
    return;
  }
  c.write(dir, file, value, field);
}
