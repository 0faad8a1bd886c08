// Warnings about settings the kernel cannot honour: printed once per process, on stderr, so
// that `runt` keeps working where runc merely logs.
const said = new Set<string>();

export function warnOnce(message: string): void {
  if (said.has(message)) return;
  said.add(message);
  process.stderr.write(`runt: warning: ${message}\n`);
}
