// linux.resources.devices as the kernel's device cgroup sees it: the OCI rules are applied in
// order to a state (a default verdict plus exceptions), exactly as writes to the v1 devices.allow
// and devices.deny files would be. The v1 driver compares that state with devices.list; the v2
// driver compiles it to an eBPF program (devices-bpf.ts).
import type { DeviceCgroup } from '../spec/types.js';

export type DeviceType = 'c' | 'b';

/** One exception; -1 major/minor is the wildcard `*`. `access` is a subset of "rwm" in that order. */
export interface DeviceException {
  type: DeviceType;
  major: number;
  minor: number;
  access: string;
}

export interface DeviceState {
  /** Whether a device that no exception matches is allowed. */
  defaultAllow: boolean;
  exceptions: DeviceException[];
}

const ACCESS_ORDER = 'rwm';

function normAccess(a: string): string {
  return [...ACCESS_ORDER].filter((c) => a.includes(c)).join('');
}

function sameDevice(a: DeviceException, b: DeviceException): boolean {
  return a.type === b.type && a.major === b.major && a.minor === b.minor;
}

/** The state the cgroup ends up in after the rules, starting from `initial` (a new v1 cgroup copies
 *  its parent; the runtime starts from allow-all as runc does).
 *  - a rule of type `a` (or no type) resets: default verdict = allow, exceptions cleared;
 *  - a rule whose verdict differs from the default adds an exception (access merged);
 *  - a rule with the default's verdict takes access away from the exception for that exact device. */
export function effectiveDeviceState(rules: DeviceCgroup[], initial: DeviceState = { defaultAllow: true, exceptions: [] }): DeviceState {
  let state: DeviceState = { defaultAllow: initial.defaultAllow, exceptions: initial.exceptions.map((e) => ({ ...e })) };
  for (const r of rules) {
    const type = r.type ?? 'a';
    if (type === 'a') {
      state = { defaultAllow: r.allow, exceptions: [] };
      continue;
    }
    const ex: DeviceException = {
      type: type as DeviceType,
      major: r.major ?? -1,
      minor: r.minor ?? -1,
      access: normAccess(r.access ?? 'rwm'),
    };
    const found = state.exceptions.find((e) => sameDevice(e, ex));
    if (r.allow !== state.defaultAllow) {
      if (found) found.access = normAccess(found.access + ex.access);
      else if (ex.access) state.exceptions.push(ex);
    } else if (found) {
      found.access = [...found.access].filter((c) => !ex.access.includes(c)).join('');
      if (!found.access) state.exceptions = state.exceptions.filter((e) => e !== found);
    }
  }
  return state;
}

/** The v1 file form of an exception: `c 1:3 rwm`, `b *:* r`. */
export function deviceRuleText(e: { type: string; major: number; minor: number; access: string }): string {
  const n = (x: number) => (x < 0 ? '*' : String(x));
  return `${e.type} ${n(e.major)}:${n(e.minor)} ${e.access}`;
}

/** Parse v1 devices.list into a state. The kernel prints `a *:* rwm` alone for allow-all (it
 *  shows no exceptions in that mode) and the exceptions for deny-all. */
export function parseDevicesList(text: string): DeviceState {
  const lines = text
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  if (lines.length === 1 && lines[0] === 'a *:* rwm') return { defaultAllow: true, exceptions: [] };
  const exceptions: DeviceException[] = [];
  for (const l of lines) {
    const m = /^([cba]) (\*|\d+):(\*|\d+) ([rwm]+)$/.exec(l);
    if (!m) continue;
    const n = (x: string) => (x === '*' ? -1 : Number(x));
    exceptions.push({ type: m[1] as DeviceType, major: n(m[2]), minor: n(m[3]), access: normAccess(m[4]) });
  }
  return { defaultAllow: false, exceptions };
}

export function sameDeviceState(a: DeviceState, b: DeviceState): boolean {
  if (a.defaultAllow !== b.defaultAllow) return false;
  // In allow mode the kernel does not show exceptions, so only a clean allow-all can be compared.
  if (a.defaultAllow) return a.exceptions.length === 0 && b.exceptions.length === 0;
  const key = (e: DeviceException) => deviceRuleText(e);
  const as = new Set(a.exceptions.map(key));
  return as.size === b.exceptions.length && b.exceptions.every((e) => as.has(key(e)));
}

/** Devices every container may use, as runc allows them after the config's own rules. */
export const DEFAULT_ALLOWED_DEVICES: DeviceCgroup[] = [
  { allow: true, type: 'c', major: -1, minor: -1, access: 'm' },
  { allow: true, type: 'b', major: -1, minor: -1, access: 'm' },
  { allow: true, type: 'c', major: 1, minor: 3, access: 'rwm' }, // /dev/null
  { allow: true, type: 'c', major: 1, minor: 8, access: 'rwm' }, // /dev/random
  { allow: true, type: 'c', major: 1, minor: 7, access: 'rwm' }, // /dev/full
  { allow: true, type: 'c', major: 5, minor: 0, access: 'rwm' }, // /dev/tty
  { allow: true, type: 'c', major: 1, minor: 5, access: 'rwm' }, // /dev/zero
  { allow: true, type: 'c', major: 1, minor: 9, access: 'rwm' }, // /dev/urandom
  { allow: true, type: 'c', major: 136, minor: -1, access: 'rwm' }, // /dev/pts/*
  { allow: true, type: 'c', major: 5, minor: 2, access: 'rwm' }, // /dev/ptmx
  { allow: true, type: 'c', major: 10, minor: 200, access: 'rwm' }, // /dev/net/tun
];

/** linux.resources with the device rules the container needs besides its own: the defaults
 *  above and every node listed in linux.devices (read, write, mknod), appended as runc does. */
export function withDefaultDeviceRules<R extends { devices?: DeviceCgroup[] }>(
  resources: R | undefined,
  linuxDevices: Array<{ type: string; major?: number; minor?: number }> = [],
): R {
  const own = resources?.devices ?? [];
  const listed: DeviceCgroup[] = linuxDevices
    .filter((d) => d.type === 'c' || d.type === 'b' || d.type === 'u')
    .map((d) => ({ allow: true, type: d.type === 'b' ? 'b' : 'c', major: d.major, minor: d.minor, access: 'rwm' }));
  return { ...(resources ?? ({} as R)), devices: [...own, ...DEFAULT_ALLOWED_DEVICES, ...listed] };
}
