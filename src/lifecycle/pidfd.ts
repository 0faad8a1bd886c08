// Acting on a process through a pidfd: once opened, the pid cannot be reused under us.
import { native } from '../native.js';

/** Runs fn with a pidfd on pid and closes it once fn (or the promise it returns) settles;
 *  returns undefined without calling fn when the process is already gone. */
export function withPidfd<T>(pid: number, fn: (fd: number) => T): T | undefined {
  const n = native();
  let fd: number;
  try {
    fd = n.pidfdOpen(pid);
  } catch {
    return undefined;
  }
  let result: T;
  try {
    result = fn(fd);
  } catch (e) {
    n.close(fd);
    throw e;
  }
  if (result instanceof Promise) return result.finally(() => n.close(fd)) as T;
  n.close(fd);
  return result;
}
