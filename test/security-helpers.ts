// Shared pieces of the security and seccomp tests: the probe program (test/security-probe.c),
// x86-64 syscall numbers, and small readers of what a container printed.
import type { Test } from 'tap';
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  closeSync,
  constants as fsc,
  copyFileSync,
  existsSync,
  openSync,
  readFileSync,
  readSync,
  renameSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { REPO, onTeardown, type Bundle } from './helpers/index.js';

/** x86-64 numbers (the probe makes raw syscalls). i386 ones are named I386_*. */
export const NR = {
  getpid: 39,
  uname: 63,
  mkdir: 83,
  sync: 162,
  ptrace: 101,
  personality: 135,
  unshare: 272,
  I386_getpid: 20,
} as const;

export const CLONE_NEWIPC = 0x08000000;
export const CLONE_NEWUTS = 0x04000000;
/** 128 + SIGSYS: how a shell (and `runt run`) reports a process killed by seccomp. */
export const KILLED_BY_SIGSYS = 159;

let probe: string | null | undefined;

/** The probe, built once per source version as a static binary (it runs inside a busybox rootfs and
 *  on the host); null when this machine cannot build it. */
export function probeBinary(): string | null {
  if (probe !== undefined) return probe;
  const source = join(REPO, 'test/security-probe.c');
  const out = `/tmp/runt-security-probe-${createHash('sha256').update(readFileSync(source)).digest('hex').slice(0, 12)}`;
  if (!existsSync(out)) {
    const tmp = `${out}.${process.pid}`;
    try {
      execFileSync('gcc', ['-static', '-O2', '-o', tmp, source], { stdio: 'pipe' });
      renameSync(tmp, out);
    } catch {
      probe = null;
      return probe;
    }
  }
  probe = out;
  return probe;
}

/** Skip reason for tests that need the probe. */
export const needsProbe = (): false | string => (probeBinary() ? false : 'needs gcc with a static libc to build test/security-probe.c');

let i386: false | string | undefined;

/** Skip reason for points that make i386 syscalls (int $0x80) from a 64-bit process: on some
 *  machines of this kind int $0x80 dies with SIGSEGV even without seccomp (the kernel was booted
 *  without the i386 ABI), so the probe tries one on the host first. */
export function needsI386Syscalls(): false | string {
  if (i386 !== undefined) return i386;
  const path = probeBinary();
  if (!path) return (i386 = 'needs gcc with a static libc to build test/security-probe.c');
  const r = spawnSync(path, ['int80', String(NR.I386_getpid)], { encoding: 'utf8' });
  i386 =
    r.status === 0 && /^ok \d+/.test(r.stdout)
      ? false
      : `i386 syscalls (int $0x80) do not work on this host even without seccomp (probe: ${r.signal ?? `exit ${r.status}`} ${r.stdout.trim()})`;
  return i386;
}

/** Copies the probe into the bundle's rootfs as /probe. */
export function addProbe(b: Bundle): void {
  const path = probeBinary();
  if (!path) throw new Error('the probe could not be built');
  copyFileSync(path, join(b.rootfs, 'probe'));
  chmodSync(join(b.rootfs, 'probe'), 0o755);
}

/** The non-empty lines of a text. */
export function lines(text: string): string[] {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
}

/** The value printed after `key=` on some line ("rc=1" → "1"). */
export function valueOf(text: string, key: string): string | undefined {
  return new RegExp(`(?:^|\\s)${key}=(\\S*)`, 'm').exec(text)?.[1];
}

/** /dev/kmsg records as "seq,text". Each read returns one record; EAGAIN ends the buffer. */
function kernelRecords(): Array<{ seq: number; text: string }> {
  const fd = openSync('/dev/kmsg', fsc.O_RDONLY | fsc.O_NONBLOCK);
  const out: Array<{ seq: number; text: string }> = [];
  const buf = Buffer.alloc(8192);
  try {
    for (;;) {
      let n: number;
      try {
        n = readSync(fd, buf, 0, buf.length, null);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'EAGAIN') break;
        if (code === 'EPIPE') continue; // the record was overwritten while reading: skip it
        throw e;
      }
      const record = buf.toString('utf8', 0, n);
      const semi = record.indexOf(';');
      out.push({ seq: Number(record.split(',')[1]), text: record.slice(semi + 1).trim() });
    }
  } finally {
    closeSync(fd);
  }
  return out;
}

/** The sequence number of the newest kernel log record, or null when /dev/kmsg cannot be read. */
export function kernelLogCursor(): number | null {
  try {
    const records = kernelRecords();
    return records.length ? records[records.length - 1].seq : 0;
  } catch {
    return null;
  }
}

/** Kernel log lines written after `cursor`. */
export function kernelLogSince(cursor: number): string[] {
  return kernelRecords()
    .filter((r) => r.seq > cursor)
    .map((r) => r.text);
}

/** Runs `action` and returns the kernel log lines it caused that pass `wanted`, or null when
 *  /dev/kmsg cannot be read. Audit lines are printk-rate-limited (10 per 5 s): when none came, the
 *  action is repeated after the limit's interval, at most three times in all. */
export async function kernelLogOf(action: () => void, wanted: (line: string) => boolean): Promise<string[] | null> {
  for (let attempt = 0; ; attempt++) {
    const cursor = kernelLogCursor();
    if (cursor === null) return null;
    action();
    const found = kernelLogSince(cursor).filter(wanted);
    if (found.length || attempt === 2) return found;
    await new Promise((resolve) => setTimeout(resolve, 5500));
  }
}

/** The file a host directory holds, so that a listing shows whether a process reached it. */
export const MARKER = 'HOST-MARKER';

/** A host directory (in the bundle, outside the rootfs) with MARKER in it, opened read-only: tests
 *  hand the fd to runt, the way a careless caller or runt itself could hold one. */
export function hostDirFd(t: Test, b: Bundle): { dir: string; fd: number } {
  const dir = b.hostDir('host-secret');
  writeFileSync(join(dir, MARKER), 'x');
  const fd = openSync(dir, 'r');
  onTeardown(t, () => closeSync(fd));
  return { dir, fd };
}
