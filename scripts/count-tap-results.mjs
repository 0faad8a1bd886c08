#!/usr/bin/env node
// Count test results in the raw TAP that `tap --output-file=FILE` saved, and
// print the failures followed by one final line: `tests: N passed, N failed`.
//
// What N counts: the test points directly inside each test file, i.e. each
// top-level `t.test(...)` of a file (nested subtests roll up into it) and any
// bare assertion made at a file's top level. Skipped and todo points are
// reported on a separate line and counted in neither number. A file that fails
// without any failing test point of its own (it crashed, timed out, exited
// non-zero or broke its plan) counts as one failure.
//
// Usage: node scripts/count-tap-results.mjs RAW_TAP_FILE [TAP_EXIT_STATUS]
// Exits non-zero if anything failed, if no test ran, or if TAP_EXIT_STATUS != 0.
import { createReadStream, existsSync } from 'node:fs';
import { Parser } from 'tap-parser';

const [rawFile, tapStatusArg = '0'] = process.argv.slice(2);
if (!rawFile) {
  console.error('usage: count-tap-results.mjs RAW_TAP_FILE [TAP_EXIT_STATUS]');
  process.exit(2);
}
const tapStatus = Number(tapStatusArg);

let passed = 0;
let failed = 0;
let skipped = 0;
const notes = [];
const failedAsserts = [];

// The file whose subtest block was opened last; tap closes it with the next
// top-level test point (named after the file, or e.g. "timeout!").
let openFile = null;

const root = new Parser();
root.on('child', (child) => {
  const file = { name: child.name, failures: 0 };
  openFile = file;
  // File-level failures are described by the notes, not as assertions.
  collectFailedAsserts(child);
  const seen = new Set();
  child.on('assert', (point) => {
    // tap reports a timed-out subtest twice, with the same name and time.
    if (point.time !== null) {
      const key = `${point.ok} ${point.time} ${point.name}`;
      if (seen.has(key)) return;
      seen.add(key);
    }
    if (point.skip || point.todo) skipped++;
    else if (point.ok) passed++;
    else {
      failed++;
      file.failures++;
    }
  });
});
root.on('assert', (fileResult) => {
  const file = openFile;
  openFile = null;
  if (fileResult.ok || file?.failures > 0) return;
  failed++;
  const name = file?.name ?? fileResult.name;
  const { exitCode, signal } = fileResult.diag ?? {};
  const how = signal
    ? `killed by ${signal}`
    : exitCode
      ? `exit code ${exitCode}`
      : fileResult.name !== name
        ? fileResult.name
        : 'no failing test point';
  notes.push(`not ok: ${name} (${how})`);
});
root.on('bailout', (reason) => notes.push(`bailed out: ${reason || '(no reason given)'}`));

const finalResults = await new Promise((resolve) => {
  root.on('complete', resolve);
  if (existsSync(rawFile)) createReadStream(rawFile).pipe(root);
  else {
    notes.push(`no TAP output found at ${rawFile}`);
    root.end();
  }
});

if (!finalResults.ok && failed === 0 && passed + skipped > 0) {
  failed++;
  notes.push('not ok: the run as a whole failed (bail-out, missing files or a broken plan)');
}

for (const line of describeFailures(failedAsserts)) console.log(line);
for (const note of notes) console.log(note);
if (tapStatus !== 0 && failed === 0) console.log(`tap exited with status ${tapStatus}`);
if (passed + failed === 0) console.log('no tests ran');
if (skipped > 0) console.log(`skipped: ${skipped}`);
console.log(`tests: ${passed} passed, ${failed} failed`);
process.exitCode = failed > 0 || passed === 0 || tapStatus !== 0 ? 1 : 0;

// Record every failing assertion at any depth so failures can be shown in full.
function collectFailedAsserts(parser) {
  parser.on('child', (child) => collectFailedAsserts(child));
  parser.on('assert', (point) => {
    if (!point.ok && !point.todo && !point.skip) failedAsserts.push(point);
  });
}

// Show only the innermost failures: a failing subtest whose own asserts failed
// adds nothing beyond them.
function* describeFailures(points) {
  const names = points.map((p) => p.fullname);
  for (const point of points) {
    const prefix = `${point.fullname} > `;
    if (names.some((name) => name.startsWith(prefix))) continue;
    const at = point.diag?.at;
    const where = at?.fileName ? ` (${at.fileName}:${at.lineNumber}:${at.columnNumber})` : '';
    yield `✖ ${point.fullname}${where}`;
    if (typeof point.diag?.diff === 'string') {
      for (const line of point.diag.diff.trimEnd().split('\n')) yield `    ${line}`;
    } else if (point.diag?.message) {
      yield `    ${point.diag.message}`;
    }
  }
}
