// --trace: one line per step as the init carries it out.
import type { TraceEvent } from '../lifecycle/create.js';
import type { Logger } from '../log.js';

export function traceReporter(_log: Logger): (e: TraceEvent) => void {
  return (e) => {
    const result = e.error ? `FAILED ${e.error}` : `ok ${e.usec}us`;
    process.stderr.write(`trace: #${e.index} ${e.op} (${e.field}) ${result}\n`);
  };
}
