// IPv4 subnets for `network create`: parsing, overlap, and the next free /24 for a network made
// without --subnet.
import { RuntError } from '../errors.js';

export interface Subnet {
  /** Network address as a 32-bit number. */
  base: number;
  prefix: number;
}

export function parseIp(text: string): number | null {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  if (!m) return null;
  const parts = m.slice(1).map(Number);
  if (parts.some((p) => p > 255)) return null;
  return ((parts[0] << 24) >>> 0) + (parts[1] << 16) + (parts[2] << 8) + parts[3];
}

export const formatIp = (n: number) => [24, 16, 8, 0].map((s) => (n >>> s) & 255).join('.');

const mask = (prefix: number) => (prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0);

export function parseSubnet(text: string, what = '--subnet'): Subnet {
  const [ip, len] = text.split('/');
  const base = parseIp(ip ?? '');
  const prefix = Number(len);
  if (base === null || len === undefined || !Number.isInteger(prefix) || prefix < 8 || prefix > 30) {
    throw new RuntError('EINVALID_ARGUMENT', `${what} ${text}: expected an IPv4 CIDR such as 10.89.3.0/24 (prefix 8 to 30)`);
  }
  if ((base & ~mask(prefix)) >>> 0 !== 0)
    throw new RuntError(
      'EINVALID_ARGUMENT',
      `${what} ${text}: host bits are set (the network is ${formatIp((base & mask(prefix)) >>> 0)}/${prefix})`,
    );
  return { base, prefix };
}

export const formatSubnet = (s: Subnet) => `${formatIp(s.base)}/${s.prefix}`;

export function contains(s: Subnet, ip: number): boolean {
  return (ip & mask(s.prefix)) >>> 0 === s.base;
}

export function overlaps(a: Subnet, b: Subnet): boolean {
  const p = Math.min(a.prefix, b.prefix);
  return (a.base & mask(p)) >>> 0 === (b.base & mask(p)) >>> 0;
}

/** The first host address (the usual gateway). */
export const firstHost = (s: Subnet) => s.base + 1;

/** The first 10.89.N.0/24 that overlaps none of `taken` (10.89.0.0/24 is the default network's
 *  unless `from` is 0). */
export function nextFreeSubnet(taken: Subnet[], from = 1): Subnet {
  for (let n = from; n < 256; n++) {
    const s = { base: parseIp(`10.89.${n}.0`)!, prefix: 24 };
    if (!taken.some((t) => overlaps(s, t))) return s;
  }
  throw new RuntError('EINVALID_ARGUMENT', 'no free subnet left in 10.89.0.0/16: give --subnet');
}
