// What the examples print and how they look at a process from outside: /proc/PID/ns/*, status lines,
// capability masks by name, mountinfo lines.
import { existsSync, readFileSync, readlinkSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CAPABILITIES, type Step } from '../../src/building-blocks.js';

/** The repository (examples run from examples/ as .ts or from dist/examples/ as .js). */
export const REPO = (() => {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) dir = dirname(dir);
  return dir;
})();

/** The busybox rootfs of examples/busybox (built by install.sh or scripts/make-rootfs.sh). */
export const ROOTFS = join(REPO, 'examples/busybox/rootfs');

/** A static busybox the children exec on the host side (before any pivot_root). */
export const BUSYBOX = ['/bin/busybox', join(ROOTFS, 'bin/busybox')].find((p) => existsSync(p)) ?? '/bin/busybox';

export function needRootfs(): void {
  if (!existsSync(join(ROOTFS, 'bin/busybox'))) {
    console.error(`this example needs the busybox rootfs: run scripts/make-rootfs.sh ${resolve(ROOTFS)}`);
    process.exit(2);
  }
}

/** `--name` was given on the command line: the examples' switches for "what breaks without it". */
export function flag(name: string): boolean {
  return process.argv.includes(`--${name}`);
}

/** An exec step running busybox with a shell script (host paths: no pivot_root happened). */
export function shell(script: string, field = 'example'): Step {
  return {
    op: 'exec',
    name: BUSYBOX,
    args: ['sh', '-c', script],
    env: [`PATH=${dirname(BUSYBOX)}:/usr/bin:/bin`],
    searchPath: '',
    preserveFds: 0,
    field,
  };
}

/** "uts:[4026531838]": the namespace's identity (device and inode of the nsfs file). */
export function nsOf(pid: number | 'self', type: string): string {
  return readlinkSync(`/proc/${pid}/ns/${type}`);
}

export function statusField(pid: number | 'self', name: string): string {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`${name}:`));
  return line ? line.slice(name.length + 1).trim() : '';
}

/** A capability mask as /proc shows it ("00000000a80425fb") → names. */
export function capabilityNames(hex: string): string[] {
  const mask = BigInt(`0x${hex}`);
  return CAPABILITIES.filter((_, i) => (mask >> BigInt(i)) & 1n);
}

export function heading(text: string): void {
  console.log(`\n== ${text}`);
}

/** "label ........ value" lines, aligned. */
export function show(label: string, value: string | number): void {
  console.log(`  ${label.padEnd(34)} ${value}`);
}

export function indent(text: string): string {
  return text
    .trimEnd()
    .split('\n')
    .map((l) => `    ${l}`)
    .join('\n');
}
