// A measuring process driven over stdin/stdout (one JSON request per line, one JSON answer per
// line). The bench starts one for the library (a daemon-like process) and one inside a private
// mount namespace for crun, so that their timings are taken without any wrapper on the clock.
import { createInterface } from 'node:readline';
import * as measure from './measure.js';
import * as library from './library.js';

/** The ops a worker runs: every function measure.ts and library.ts export, by name. */
const OPS = { ...measure, ...library } as unknown as Record<string, unknown>;

export interface Request {
  op: string;
  args: unknown[];
}

export type Answer = { ok: true; value: unknown } | { ok: false; error: string };

async function main(): Promise<void> {
  const lines = createInterface({ input: process.stdin });
  for await (const line of lines) {
    if (!line.trim()) continue;
    const req = JSON.parse(line) as Request;
    let answer: Answer;
    try {
      const fn = OPS[req.op];
      if (typeof fn !== 'function') throw new Error(`unknown op ${req.op}`);
      answer = { ok: true, value: await (fn as (...a: unknown[]) => unknown)(...req.args) };
    } catch (e) {
      answer = { ok: false, error: (e as Error).message };
    }
    process.stdout.write(`${JSON.stringify(answer)}\n`);
  }
}

await main();
