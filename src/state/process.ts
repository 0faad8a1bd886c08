// What /proc says about a container's init.
import { readFileSync } from 'node:fs';

export interface ProcStat {
  /** One-letter state: R, S, D, Z, T, ... */
  state: string;
  ppid: number;
  startTime: number;
}

export function readProcStat(pid: number): ProcStat | null {
  if (!(pid > 0)) return null;
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  // The command name may hold spaces and parentheses: fields start after the last ')'.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return { state: fields[0], ppid: Number(fields[1]), startTime: Number(fields[19]) };
}

/** True while the process that was our init still runs (a zombie or a reused pid count as gone). */
export function isAlive(pid: number, startTime: number): boolean {
  const st = readProcStat(pid);
  return st !== null && st.state !== 'Z' && st.state !== 'X' && (startTime === 0 || st.startTime === startTime);
}
