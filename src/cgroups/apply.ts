// Carries out a CgroupWritePlan (writes.ts): each write in order, consecutive values for the same
// file and field through one open (cgroupfs takes one rule per write(2)), the eBPF device program
// through the attacher. Nothing here decides what to write.
import { closeSync, constants, openSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { CgroupError } from '../errors.js';
import { DEVICE_FILTER_LICENSE } from './devices-bpf.js';
import { isCgroupErrno, tryReadCgroupFile, writeCgroupLines } from './fs.js';
import type { Warn } from './warn.js';
import type { CgroupWrite, CgroupWritePlan } from './writes.js';

/** Loads a BPF_PROG_TYPE_CGROUP_DEVICE program and attaches it to the cgroup open at dirFd,
 *  replacing the programs attached before (the addon's job). */
export type DeviceFilterAttacher = (cgroupDirFd: number, insns: Uint8Array, license: string) => void;

/** What the applier does to the host; tests record it over a fake cgroupfs. */
export interface CgroupWriter {
  /** Write each value in its own write(2) through one open of `file`; errors name `field`. */
  writeLines(file: string, values: string[], field: string): void;
  /** Attach the device program to the cgroup directory `dir`. */
  attach(dir: string, program: Uint8Array, field: string): void;
  read(path: string): string | undefined;
}

export function fsWriter(attachDeviceFilter?: DeviceFilterAttacher): CgroupWriter {
  return {
    writeLines: (file, values, field) => writeCgroupLines(dirname(file), basename(file), values, field),
    attach(dir, program, field) {
      if (!attachDeviceFilter) throw new CgroupError(`${field}: cannot attach the eBPF device filter (the addon lacks attachDeviceFilter)`);
      let fd: number;
      try {
        fd = openSync(dir, constants.O_RDONLY | constants.O_DIRECTORY);
      } catch (e) {
        throw new CgroupError(`${field}: ${dir}: ${(e as NodeJS.ErrnoException).code}`);
      }
      try {
        attachDeviceFilter(fd, program, DEVICE_FILTER_LICENSE);
      } catch (e) {
        throw new CgroupError(`${field}: attaching the eBPF device filter to ${dir}: ${(e as Error).message}`);
      } finally {
        closeSync(fd);
      }
    },
    read: (path) => tryReadCgroupFile(dirname(path), basename(path)),
  };
}

export function applyCgroupWrites(plan: CgroupWritePlan, writer: CgroupWriter, warn: Warn): void {
  for (const message of plan.warnings) warn(message);
  const writes = plan.writes;
  const one = (w: CgroupWrite) => {
    if (w.program) return writer.attach(w.file, w.program, w.field);
    try {
      writer.writeLines(w.file, [w.value], w.field);
    } catch (e) {
      const explained = w.explainFailure?.(e);
      if (explained !== undefined) throw new CgroupError(explained);
      const warning = w.tolerate?.(e, writer.read);
      if (warning === undefined) throw e;
      warn(warning);
    }
  };
  for (let i = 0; i < writes.length;) {
    const w = writes[i];
    if (w.swapWithNextOnEinval && i + 1 < writes.length) {
      try {
        one(w);
      } catch (e) {
        if (!isCgroupErrno(e, 'EINVAL')) throw e;
        one(writes[i + 1]);
        one(w);
        i += 2;
        continue;
      }
      i++;
      continue;
    }
    const plain = (x: CgroupWrite) =>
      !x.program && !x.tolerate && !x.explainFailure && !x.swapWithNextOnEinval && x.file === w.file && x.field === w.field;
    let end = i + 1;
    if (plain(w)) while (end < writes.length && plain(writes[end])) end++;
    if (end - i > 1)
      writer.writeLines(
        w.file,
        writes.slice(i, end).map((x) => x.value),
        w.field,
      );
    else one(w);
    i = end;
  }
}
