// Settings the kernel cannot honour are ignored with a warning (runc merely logs them). Where the
// warning goes is the caller's: the Runtime passes its logger's warn; this default prints to stderr.
export type Warn = (message: string) => void;

export const warnToStderr: Warn = (message) => {
  process.stderr.write(`runt: warning: ${message}\n`);
};
