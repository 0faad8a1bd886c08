// AppArmor and SELinux: runt applies neither. A config that asks for a profile or a label is
// refused before anything is created, with the field named, rather than run unconfined: on a host
// without the LSM as runc refuses a process label ("selinux label is specified in config, but
// selinux is disabled or not supported") and fails to write an AppArmor profile to attr/exec; on a
// host with it because runt would not apply what was asked. Empty strings mean "not set" (runc).
import { existsSync, readFileSync } from 'node:fs';
import { PlanError } from '../errors.js';
import type { Linux, Process } from '../spec/types.js';

/** What this build of runt applies (the features document reports these). */
export const LSM_SUPPORT = { apparmor: false, selinux: false } as const;

/** AppArmor is enabled as runc and crun test it: securityfs has it and the module parameter says Y. */
export function apparmorEnabled(): boolean {
  if (!existsSync('/sys/kernel/security/apparmor')) return false;
  try {
    return readFileSync('/sys/module/apparmor/parameters/enabled', 'utf8').startsWith('Y');
  } catch {
    return false;
  }
}

/** SELinux is enabled when selinuxfs is mounted (go-selinux and crun look for it the same way). */
export function selinuxEnabled(): boolean {
  try {
    return readFileSync('/proc/self/mountinfo', 'utf8')
      .split('\n')
      .some((l) => l.includes(' - selinuxfs '));
  } catch {
    return false;
  }
}

function refuse(field: string, lsm: 'AppArmor' | 'SELinux', enabled: () => boolean, what: string): never {
  throw new PlanError(
    field,
    enabled()
      ? `runt does not apply ${lsm} ${what} (${lsm} is enabled on this host; remove the field to run unconfined by it)`
      : `${lsm} is not enabled on this host`,
  );
}

/** Throws a PlanError naming the first LSM field that is set (process: the container's or an exec's). */
export function checkLsmFields(process: Process | undefined, linux?: Linux): void {
  if (process?.apparmorProfile && !LSM_SUPPORT.apparmor) refuse('process.apparmorProfile', 'AppArmor', apparmorEnabled, 'profiles');
  if (process?.selinuxLabel && !LSM_SUPPORT.selinux) refuse('process.selinuxLabel', 'SELinux', selinuxEnabled, 'labels');
  if (linux?.mountLabel && !LSM_SUPPORT.selinux) refuse('linux.mountLabel', 'SELinux', selinuxEnabled, 'labels');
}
