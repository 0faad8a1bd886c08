// What the kernel shows about a process: /proc/PID/status, namespaces, mounts.
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

export type Pid = number | 'self';

/** /proc/PID/status as a map of field → value (trimmed), e.g. Uid → "0\t0\t0\t0". */
export function procStatus(pid: Pid): Record<string, string> {
  return parseStatus(readFileSync(`/proc/${pid}/status`, 'utf8'));
}

export function parseStatus(text: string): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const i = line.indexOf(':');
    if (i > 0) fields[line.slice(0, i)] = line.slice(i + 1).trim();
  }
  return fields;
}

/** Whitespace-separated numbers of a status field ("Uid", "Gid", "Groups"). */
export function statusNumbers(value: string | undefined): number[] {
  return (value ?? '').split(/\s+/).filter(Boolean).map(Number);
}

/** The namespace link of a process, e.g. "net:[4026531840]" (`x` as in /proc/PID/ns/x). */
export function nsInode(pid: Pid, x: string): string {
  return readlinkSync(`/proc/${pid}/ns/${x}`);
}

export interface MountInfo {
  id: number;
  parent: number;
  /** Root of the mount within its filesystem. */
  root: string;
  mountPoint: string;
  /** Per-mount options (rw, ro, nosuid, ...). */
  options: string[];
  fstype: string;
  source: string;
  /** Per-superblock options (size=..., mode=...). */
  superOptions: string[];
}

const unescape = (s: string) => s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));

export function parseMountinfo(text: string): MountInfo[] {
  const mounts: MountInfo[] = [];
  for (const line of text.split('\n')) {
    const sep = line.indexOf(' - ');
    if (sep < 0) continue;
    const pre = line.slice(0, sep).split(' ');
    const [fstype, source, superOpts = ''] = line.slice(sep + 3).split(' ');
    mounts.push({
      id: Number(pre[0]),
      parent: Number(pre[1]),
      root: unescape(pre[3]),
      mountPoint: unescape(pre[4]),
      options: pre[5].split(','),
      fstype,
      source: unescape(source),
      superOptions: superOpts.split(','),
    });
  }
  return mounts;
}

export function mountinfo(pid: Pid): MountInfo[] {
  return parseMountinfo(readFileSync(`/proc/${pid}/mountinfo`, 'utf8'));
}

/** The last mount at `point` (the one on top, which is what a path resolves to). */
export function mountAt(mounts: MountInfo[], point: string): MountInfo | undefined {
  return mounts.filter((m) => m.mountPoint === point).pop();
}

/** One-letter state from /proc/PID/stat, or null when there is no such process. */
export function procState(pid: number): string | null {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return text.slice(text.lastIndexOf(')') + 2).split(' ')[0];
  } catch {
    return null;
  }
}

/** True when the process has ended (no /proc entry, or a zombie nobody reaped yet). */
export function isGone(pid: number): boolean {
  const s = procState(pid);
  return s === null || s === 'Z' || s === 'X';
}

export function cmdline(pid: number): string[] {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  } catch {
    return [];
  }
}

/** Live processes whose command line contains `text` (an init parked by runt still shows runt's
 *  own command line, which names the container id). The calling process is left out. */
export function processesMentioning(text: string): number[] {
  const found: number[] = [];
  for (const name of readdirSync('/proc')) {
    const pid = Number(name);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    if (cmdline(pid).some((a) => a.includes(text)) && !isGone(pid)) found.push(pid);
  }
  return found;
}

/** Capability numbers by name, as the kernel numbers them. */
const CAP_NAMES = [
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_DAC_READ_SEARCH',
  'CAP_FOWNER',
  'CAP_FSETID',
  'CAP_KILL',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETPCAP',
  'CAP_LINUX_IMMUTABLE',
  'CAP_NET_BIND_SERVICE',
  'CAP_NET_BROADCAST',
  'CAP_NET_ADMIN',
  'CAP_NET_RAW',
  'CAP_IPC_LOCK',
  'CAP_IPC_OWNER',
  'CAP_SYS_MODULE',
  'CAP_SYS_RAWIO',
  'CAP_SYS_CHROOT',
  'CAP_SYS_PTRACE',
  'CAP_SYS_PACCT',
  'CAP_SYS_ADMIN',
  'CAP_SYS_BOOT',
  'CAP_SYS_NICE',
  'CAP_SYS_RESOURCE',
  'CAP_SYS_TIME',
  'CAP_SYS_TTY_CONFIG',
  'CAP_MKNOD',
  'CAP_LEASE',
  'CAP_AUDIT_WRITE',
  'CAP_AUDIT_CONTROL',
  'CAP_SETFCAP',
  'CAP_MAC_OVERRIDE',
  'CAP_MAC_ADMIN',
  'CAP_SYSLOG',
  'CAP_WAKE_ALARM',
  'CAP_BLOCK_SUSPEND',
  'CAP_AUDIT_READ',
  'CAP_PERFMON',
  'CAP_BPF',
  'CAP_CHECKPOINT_RESTORE',
];

/** The capability mask of a set of names, as /proc/PID/status prints it (16 hex digits). */
export function capMask(names: Iterable<string>): string {
  let mask = 0n;
  for (const name of names) {
    const n = CAP_NAMES.indexOf(name);
    if (n < 0) throw new Error(`unknown capability ${name}`);
    mask |= 1n << BigInt(n);
  }
  return mask.toString(16).padStart(16, '0');
}
