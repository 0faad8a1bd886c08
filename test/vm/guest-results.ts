// The results of a guest program (test/vm/*-guest.ts), in the form helpers/vm.ts assertGuestResults
// reads: one JSON line per check {name, got, want} appended to $RESULTS, "<group>: threw" for a
// group that threw (the next group still runs), {group, ms} at the end of each group and a last
// {done}. A guest that dies before finish() (a signal, or a top-level await that never settles,
// which ends Node with status 13) still leaves one line saying so.
//
// A sibling module of the guests: helpers/vm.ts guestProgram() inlines it into the program it
// transpiles (the guest has no TypeScript and no copy of test/).
import { appendFileSync } from 'node:fs';

const RESULTS = process.env.RESULTS ?? '/dev/stdout';
const groups: Array<[string, () => Promise<void>]> = [];
let finished = false;

export const emit = (o: object) => appendFileSync(RESULTS, `${JSON.stringify(o)}\n`);

process.on('exit', (code) => {
  if (!finished) emit({ name: 'the guest program: threw', got: `exited with status ${code} before its last group ended`, want: null });
});

export const check = (name: string, got: unknown, want: unknown) => emit({ name, got, want });

/** A group of checks, run in the order of registration by runGroups(). */
export const group = (name: string, fn: () => Promise<void>) => {
  groups.push([name, fn]);
};

/** Runs every group; after one that threw, `afterThrow` clears what it may have left (e.g. its
 *  containers) so that the next starts clean. */
export async function runGroups(afterThrow: () => Promise<void>): Promise<void> {
  for (const [name, fn] of groups) {
    const started = Date.now();
    try {
      await fn();
    } catch (e) {
      emit({ name: `${name}: threw`, got: (e as Error).stack ?? String(e), want: null });
      await afterThrow();
    }
    emit({ group: name, ms: Date.now() - started });
  }
}

/** The last line: the program got to its end. */
export function finish(): void {
  finished = true;
  emit({ done: true });
}
