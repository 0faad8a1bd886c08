// Seccomp policy: what `linux.seccomp` means beyond the BPF program itself (which csrc/seccomp.cc
// compiles with libseccomp): the seccomp(2) flags, the notify listener and where the filter goes in
// the plan.
import { endianness, machine } from 'node:os';
import type { Seccomp, SeccompFlag } from '../spec/types.js';
import { SECCOMP_ARCHITECTURES, type SeccompArchitecture } from '../spec/constants.js';
import { PlanError } from '../errors.js';
import { native } from '../native.js';

/** SECCOMP_FILTER_FLAG_* from <linux/seccomp.h>. */
export const SECCOMP_FILTER_FLAG = {
  TSYNC: 1 << 0,
  LOG: 1 << 1,
  SPEC_ALLOW: 1 << 2,
  NEW_LISTENER: 1 << 3,
  TSYNC_ESRCH: 1 << 4,
  WAIT_KILLABLE_RECV: 1 << 5,
} as const;

const FLAG_BITS: Record<SeccompFlag, number> = {
  SECCOMP_FILTER_FLAG_TSYNC: SECCOMP_FILTER_FLAG.TSYNC,
  SECCOMP_FILTER_FLAG_LOG: SECCOMP_FILTER_FLAG.LOG,
  SECCOMP_FILTER_FLAG_SPEC_ALLOW: SECCOMP_FILTER_FLAG.SPEC_ALLOW,
  SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV: SECCOMP_FILTER_FLAG.WAIT_KILLABLE_RECV,
};

/** The syscall the init makes after loading the filter and before the listener fd has left it
 *  (csrc/child_proc.cc, StepSeccomp): notifying it would block the init on a notification nobody
 *  can receive yet. */
const NEEDED_BEFORE_LISTENER_SENT = ['sendmsg'];

/** True when some rule uses SCMP_ACT_NOTIFY (the filter then needs a listener). */
export function usesNotify(seccomp: Seccomp | undefined): boolean {
  return (seccomp?.syscalls ?? []).some((s) => s.action === 'SCMP_ACT_NOTIFY');
}

/**
 * The flags argument of seccomp(SECCOMP_SET_MODE_FILTER). With a NOTIFY rule the kernel must hand out
 * a listener (NEW_LISTENER); WAIT_KILLABLE_RECV only means something for a listener and the kernel
 * rejects it without one, so it is dropped then (as libseccomp does). TSYNC together with
 * NEW_LISTENER needs TSYNC_ESRCH (the init is single-threaded, so TSYNC never has work to do).
 */
export function seccompFilterFlags(seccomp: Seccomp | undefined): number {
  if (!seccomp) return 0;
  let flags = 0;
  for (const name of seccomp.flags ?? []) {
    const bit = FLAG_BITS[name];
    if (bit === undefined) throw new PlanError('linux.seccomp.flags', `unknown flag "${name}"`);
    flags |= bit;
  }
  if (usesNotify(seccomp)) {
    flags |= SECCOMP_FILTER_FLAG.NEW_LISTENER;
    if (flags & SECCOMP_FILTER_FLAG.TSYNC) flags |= SECCOMP_FILTER_FLAG.TSYNC_ESRCH;
  } else {
    flags &= ~SECCOMP_FILTER_FLAG.WAIT_KILLABLE_RECV;
  }
  return flags;
}

/** Refuses a NOTIFY rule on a syscall the init needs to hand the listener fd over (like runc
 *  refuses one on `write`, which it uses for the same purpose). */
export function checkNotifyRules(seccomp: Seccomp | undefined): void {
  (seccomp?.syscalls ?? []).forEach((rule, i) => {
    if (rule.action !== 'SCMP_ACT_NOTIFY') return;
    const blocked = rule.names.find((n) => NEEDED_BEFORE_LISTENER_SENT.includes(n));
    if (blocked) {
      throw new PlanError(
        `linux.seccomp.syscalls[${i}]`,
        `SCMP_ACT_NOTIFY cannot be used for "${blocked}": the runtime needs it to pass the listener fd`,
      );
    }
  });
}

/** What libseccomp makes of one architecture next to the native one: `ok`, `unknown` (the linked
 *  libseccomp does not know it) or `byteOrder` (it knows it, but will not put an architecture of
 *  the other byte order into one filter: EDOM). Found by compiling a filter that names only it. */
type ArchitectureFit = 'ok' | 'unknown' | 'byteOrder';
const fits = new Map<string, ArchitectureFit>();

function architectureFit(name: string): ArchitectureFit {
  let fit = fits.get(name);
  if (fit === undefined) {
    try {
      native().compileSeccomp({ defaultAction: 'SCMP_ACT_ALLOW', architectures: [name] });
      fit = 'ok';
    } catch (e) {
      const message = (e as Error).message;
      fit = /unknown architecture/.test(message) ? 'unknown' : /out of domain|EDOM/.test(message) ? 'byteOrder' : 'ok';
    }
    fits.set(name, fit);
  }
  return fit;
}

/** The architectures a filter compiled here can hold. */
export function usableSeccompArchitectures(): SeccompArchitecture[] {
  return (Object.keys(SECCOMP_ARCHITECTURES) as SeccompArchitecture[]).filter((a) => architectureFit(a) === 'ok');
}

/** Why `linux.seccomp.architectures` entry `name` cannot be carried out here, or undefined. */
export function seccompArchitectureRefusal(name: string): string | undefined {
  const fit = architectureFit(name);
  if (fit === 'unknown') {
    const version = native().seccompVersion();
    return `${name}: the libseccomp runt is linked with${version ? ` (${version})` : ''} does not know this architecture`;
  }
  if (fit === 'byteOrder') {
    const order = SECCOMP_ARCHITECTURES[name as SeccompArchitecture]?.endian ?? 'other';
    const host = endianness() === 'LE' ? 'little' : 'big';
    return `${name} is ${order}-endian: libseccomp cannot put it in one filter with this host's ${host}-endian ${machine()} (and no process here makes its system calls)`;
  }
  return undefined;
}

/** The BPF program for `seccomp` (csrc/seccomp.cc). An architecture libseccomp refuses fails in
 *  one line naming its entry; the check runs only when compiling failed, so it costs nothing else. */
export function compileSeccompFilter(seccomp: Seccomp, field = 'linux.seccomp'): Uint8Array {
  try {
    return native().compileSeccomp(seccomp);
  } catch (e) {
    (seccomp.architectures ?? []).forEach((name, i) => {
      const why = seccompArchitectureRefusal(name);
      if (why) throw new PlanError(`${field}.architectures[${i}]`, why);
    });
    throw e;
  }
}
