// Kernel numbers back to the names a reader knows: clone and mount flags, capabilities, rlimits,
// prctl options, file modes.
import { CAPABILITIES, CLONE, FS_MAGIC, MS, NAMESPACES, PR, RLIMITS, S_IF } from '../plan/constants.js';
import { SYNC_TAG } from '../plan/steps.js';

function bitNames(value: number, table: Record<string, number>, prefix: string): string[] {
  const names: string[] = [];
  let rest = value;
  for (const [name, bit] of Object.entries(table)) {
    if (bit !== 0 && (value & bit) === bit) {
      names.push(`${prefix}${name}`);
      rest &= ~bit;
    }
  }
  if (rest) names.push(`0x${(rest >>> 0).toString(16)}`);
  return names;
}

export function cloneFlagNames(flags: number): string[] {
  return bitNames(flags, CLONE, 'CLONE_');
}

export function mountFlagNames(flags: number): string[] {
  return bitNames(flags, MS, 'MS_');
}

/** "CLONE_NEWNS|CLONE_NEWPID", or "0". */
export function joinFlags(names: string[]): string {
  return names.length ? names.join('|') : '0';
}

export function namespaceTypeOfFlag(flag: number): string {
  return Object.entries(NAMESPACES).find(([, v]) => v.flag === flag)?.[0] ?? `0x${flag.toString(16)}`;
}

export function capName(n: number): string {
  return CAPABILITIES[n] ?? `CAP_${n}`;
}

/** In number order: the kernel keeps sets, so config order must not show up as a plan difference. */
export function capNames(caps: number[]): string[] {
  return [...caps].sort((a, b) => a - b).map(capName);
}

export function rlimitName(resource: number): string {
  return Object.entries(RLIMITS).find(([, v]) => v === resource)?.[0] ?? `RLIMIT_${resource}`;
}

/** -1 is the addon's RLIM_INFINITY. */
export function rlimitValue(v: number): string {
  return v === -1 ? 'RLIM_INFINITY' : String(v);
}

export function prctlName(option: number): string {
  const name = Object.entries(PR).find(([, v]) => v === option)?.[0];
  return name ? `PR_${name}` : `prctl option ${option}`;
}

export function syncTagName(tag: number): string {
  return Object.entries(SYNC_TAG).find(([, v]) => v === tag)?.[0] ?? `tag ${tag}`;
}

export function fsMagicName(magic: number): string {
  const name = Object.entries(FS_MAGIC).find(([, v]) => v === magic)?.[0];
  return name ? `${name}_SUPER_MAGIC` : `0x${magic.toString(16)}`;
}

/** 0o755 → "0755". */
export function octal(mode: number): string {
  return `0${(mode & 0o7777).toString(8).padStart(3, '0')}`;
}

/** The node type of an mknod mode: "c", "b" or "p". */
export function nodeType(mode: number): string {
  const kind = mode & 0o170000;
  if (kind === S_IF.BLK) return 'b';
  if (kind === S_IF.FIFO) return 'p';
  if (kind === S_IF.CHR) return 'c';
  return '?';
}

export function nodeTypeFlag(type: string): string {
  return type === 'b' ? 'S_IFBLK' : type === 'p' ? 'S_IFIFO' : 'S_IFCHR';
}

/** A string as C source would show it (or NULL). */
export function cstr(s: string | null | undefined): string {
  return s === null || s === undefined ? 'NULL' : JSON.stringify(s);
}
