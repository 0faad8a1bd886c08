// 11 — the whole container: everything from 01–10, in the order runt's planner puts it, from the
// busybox bundle's config.json.
//
//   npm run build:ts && node dist/examples/11-container.js [--plan]
//
// First the plan, from explainBundle() (what `runt explain` prints: no process is made for it),
// then the same bundle run through the library's Runtime with tracing on: each step reported as the
// init finishes it, with its own time. The two lists are the same, step for step.
// --plan: print the full plan as `runt explain` shows it, and run nothing.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { explainBundle, renderText, Runtime, type ExplainDocument, type TraceEvent } from '../src/index.js';
import { flag, heading, needRootfs, REPO, show } from './lib/show.js';

needRootfs();
const bundle = join(REPO, 'examples/busybox');
const root = mkdtempSync(join(tmpdir(), 'runt-example-11-'));
const id = `example-11-${process.pid}`;

try {
  const plan = explainBundle({ bundle, id, root });
  if (flag('plan')) process.stdout.write(renderText(plan));
  else await planAndRun(plan);
} finally {
  rmSync(root, { recursive: true, force: true });
}

async function planAndRun(plan: ExplainDocument): Promise<void> {
  heading(`the plan for ${bundle}`);
  show('clone3', plan.clone3.call);
  for (const n of plan.namespaces) show(`namespace ${n.type}`, `${n.how} (${n.field})`);
  show(
    'cgroups',
    `${Object.keys(plan.cgroups.paths).length} directories, ${plan.cgroups.writes.length} limit writes (${plan.cgroups.layout})`,
  );
  const byProcess = new Map<string, number>();
  for (const s of plan.steps) byProcess.set(s.process, (byProcess.get(s.process) ?? 0) + 1);
  for (const [p, count] of byProcess) show(`steps run by ${p}`, count);

  heading("running it (the container's own output first)");
  const events: TraceEvent[] = [];
  const rt = new Runtime({ root });
  const result = await rt.run(id, bundle, { trace: true, traceAfterStart: true, onTrace: (e) => events.push(e) });
  show('exit', result.code ?? result.signal ?? '?');

  heading('the trace: each step as the init reported it');
  for (const e of events) {
    const step = plan.steps[e.index];
    // The call that is the point of the step, not its preparations.
    const call = step.calls.find((c) => !/^(mkdir|fchdir|close_range|clear)/.test(c)) ?? step.calls[0];
    const what = call.length > 70 ? `${call.slice(0, 67)}...` : call;
    console.log(
      `  #${String(e.index).padEnd(3)} ${e.error ? `FAILED ${e.error}` : `${String(e.usec).padStart(6)}us`}  ${e.field.padEnd(30)} ${what}`,
    );
  }
  const same =
    events.length === plan.steps.length &&
    events.every((e, i) => e.index === i && e.op === plan.steps[i].op && e.field === plan.steps[i].field);
  console.log();
  show('trace == plan (index, op, field)', same ? 'yes' : 'NO');
  const time = new Map<string, number>();
  for (const e of events) time.set(plan.steps[e.index].process, (time.get(plan.steps[e.index].process) ?? 0) + e.usec);
  const note: Record<string, string> = {
    'init-before-pivot': " (with the runtime's work at the sync step: cgroups)",
    'init-after-pivot': ' (with the wait for start at the park step)',
  };
  for (const [p, usec] of time) show(`time in ${p}`, `${usec} us${note[p] ?? ''}`);
}
