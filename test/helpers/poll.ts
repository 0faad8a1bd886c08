// Waiting for a condition with a bounded deadline, instead of sleeping a fixed time.
import { readFileSync } from 'node:fs';

/** Calls `probe` until it returns something other than undefined/null/false, or the deadline passes
 *  (then throws, naming `what`). */
export async function waitFor<T>(what: string, probe: () => T | undefined | null | false, timeoutMs = 10_000, intervalMs = 20): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined && value !== null && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** The text of a file once it exists, is non-empty and passes `until`. */
export function waitForFile(path: string, until: (text: string) => boolean = () => true, timeoutMs = 10_000): Promise<string> {
  return waitFor(
    path,
    () => {
      let text: string;
      try {
        text = readFileSync(path, 'utf8');
      } catch {
        return undefined;
      }
      return text !== '' && until(text) ? text : undefined;
    },
    timeoutMs,
  );
}
