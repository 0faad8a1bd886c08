// The tests' side of bench/engine-cgroups.ts (cgroup directories a peer engine makes and never
// removes): a teardown that removes the new ones, and a command for scripts (scripts/conformance.sh),
// run with the tests' TypeScript loader:
//   node --import @tapjs/typescript/import test/helpers/engine-cgroups.ts record FILE NAME...
//   node --import @tapjs/typescript/import test/helpers/engine-cgroups.ts remove FILE
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Test } from 'tap';
import { recordCgroups, removeNewCgroups, removeNewCgroupsPatiently, type CgroupRecord } from '../../bench/engine-cgroups.js';

export { recordCgroups, removeNewCgroups, type CgroupRecord };

/** Records now; at teardown (after everything registered later: the engine is stopped by then)
 *  removes what the engine made. A directory that stays after a few seconds is reported, not failed
 *  on: another test running at the same time may have an engine using it. */
export function removeEngineCgroupsAtTeardown(t: Test, names: string[]): void {
  const record = recordCgroups(names);
  t.teardown(async () => {
    const stayed = await removeNewCgroupsPatiently(record);
    if (stayed.length) t.comment(`cgroup directories still in use, left in place: ${stayed.join(', ')}`);
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [command, file, ...names] = process.argv.slice(2);
  if (command === 'record' && file && names.length) {
    writeFileSync(file, JSON.stringify(recordCgroups(names)));
  } else if (command === 'remove' && file) {
    const stayed = removeNewCgroups(JSON.parse(readFileSync(file, 'utf8')) as CgroupRecord);
    for (const d of stayed) console.error(`cgroup directory still in use, left in place: ${d}`);
  } else {
    console.error('usage: engine-cgroups.ts record FILE NAME... | remove FILE');
    process.exit(2);
  }
}
