// Signal names as runc accepts them: KILL, SIGKILL, sigkill or a number.
import { constants } from 'node:os';
import { InvalidArgumentError } from '../errors.js';

const BY_NAME = constants.signals as Record<string, number>;

export function parseSignal(value: string | number | undefined, fallback = 'SIGTERM'): number {
  const raw = String(value ?? fallback).trim();
  if (/^\d+$/.test(raw)) {
    const n = Number(raw);
    if (n > 0 && n <= 64) return n;
  } else {
    const upper = raw.toUpperCase();
    const name = upper.startsWith('SIG') ? upper : `SIG${upper}`;
    if (name in BY_NAME) return BY_NAME[name];
    const rt = /^SIGRTMIN(?:\+(\d+))?$/.exec(name);
    if (rt) return 34 + Number(rt[1] ?? 0);
  }
  throw new InvalidArgumentError(`unknown signal "${raw}"`);
}

export function signalName(n: number): string {
  return Object.entries(BY_NAME).find(([, v]) => v === n)?.[0] ?? `SIG${n}`;
}
