// A measuring process driven over stdin/stdout (one JSON request per line, one JSON answer per
// line). The bench starts one for the library (a daemon-like process) and one inside a private
// mount namespace for crun, so that their timings are taken without any wrapper on the clock.
import { createInterface } from 'node:readline';
import * as measure from './measure.js';
import * as library from './library.js';

type Op = (...args: never[]) => unknown;

const OPS: Record<string, Op> = {
  runLatency: measure.runLatency,
  lifecycle: measure.lifecycle,
  startLongRunning: measure.startLongRunning,
  execLatency: measure.execLatency,
  stateLatency: measure.stateLatency,
  killLatency: measure.killLatency,
  forceDelete: measure.forceDelete,
  parallelThroughput: measure.parallelThroughput,
  parkedInitMemory: measure.parkedInitMemory,
  peakRssKb: measure.peakRssKb,
  libraryRun: library.libraryRun,
  libraryStartLongRunning: library.libraryStartLongRunning,
  libraryExec: library.libraryExec,
  libraryDelete: library.libraryDelete,
  libraryParallel: library.libraryParallel,
  libraryPeakRssKb: library.libraryPeakRssKb,
  libraryParkedInitMemory: library.libraryParkedInitMemory,
  libraryCpuPerRun: library.libraryCpuPerRun,
  smapsRollup: measure.smapsRollup,
  floorThroughput: measure.floorThroughput,
  runSucceeds: measure.runSucceeds,
  commandsCpuMs: measure.commandsCpuMs,
};

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
      if (!fn) throw new Error(`unknown op ${req.op}`);
      answer = { ok: true, value: await (fn as (...a: unknown[]) => unknown)(...req.args) };
    } catch (e) {
      answer = { ok: false, error: (e as Error).message };
    }
    process.stdout.write(`${JSON.stringify(answer)}\n`);
  }
}

await main();
