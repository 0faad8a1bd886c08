// Every write the runtime makes under /proc/<pid>/ goes through here: the file is opened beneath a
// procfs nothing can have been mounted over (csrc/procfs.h; the CVE-2025-52881 class), never by
// path. runt-init does the same for sysctls (the writeProc step).
import { closeSync, constants, writeSync } from 'node:fs';
import { native } from '../native.js';

/** Writes `data` to /proc/<rel> in one write(2) (uid_map and gid_map must be written at once). */
export function writeProcFile(rel: string, data: string): void {
  const fd = native().openProcFile(rel, constants.O_WRONLY);
  try {
    const buf = Buffer.from(data);
    const n = writeSync(fd, buf);
    if (n !== buf.length) throw new Error(`write /proc/${rel}: short write (${n} of ${buf.length} bytes)`);
  } finally {
    closeSync(fd);
  }
}
