// The explain document for people: the runtime's part and the steps in the order they happen,
// grouped by the process that carries them out.
import { hierarchyLabel } from '../cgroups/paths.js';
import type { ExplainDocument, ExplainedStep, ProcessName, RuntimeAction, RuntimeWhen } from './document.js';

const PROCESS_TITLES: Record<ProcessName, string> = {
  intermediate: 'the first child (it joins or creates namespaces, then forks the init and exits)',
  'init-before-pivot': 'the container init, before pivot_root (paths under {root} are in the rootfs)',
  'init-after-pivot': "the container init, after pivot_root ({root} is the container's /)",
  'init-after-start': 'the container init, after `runt start` wrote the exec fifo',
};

const WHEN_TITLES: Record<RuntimeWhen, string> = {
  create: 'runtime, before the container process exists',
  spawn: 'runtime, spawning',
  'sync-init': 'runtime, while the init waits',
  'sync-network': 'runtime, while the init waits (its network namespace exists, nothing is mounted yet)',
  'sync-create-runtime': 'runtime, while the init waits',
  parked: 'runtime, once the init is parked (`create` returns)',
  start: 'runtime, `runt start`',
  delete: 'runtime, `runt delete` (after the container exited)',
};

export function renderText(doc: ExplainDocument): string {
  const lines: string[] = [];
  const out = (s = '') => lines.push(s);

  out(`plan for bundle ${doc.bundle} (container id ${doc.id})`);
  out(`rootfs ${doc.rootfs}`);
  out();
  out('namespaces');
  for (const n of doc.namespaces) out(`  ${n.type.padEnd(8)} ${n.how.padEnd(8)} ${n.path ?? ''}${n.path ? '  ' : ''}(${n.field})`);
  if (doc.idMappings) {
    out(`  uid map: ${doc.idMappings.uid.join(', ') || '(none)'}    gid map: ${doc.idMappings.gid.join(', ') || '(none)'}`);
  }
  out();
  out(`cgroups (${doc.cgroups.layout})`);
  for (const [name, dir] of Object.entries(doc.cgroups.paths)) out(`  ${hierarchyLabel(name).padEnd(12)} ${dir}`);
  if (doc.seccomp) {
    const s = doc.seccomp;
    out();
    out(
      `seccomp: default ${s.defaultAction}${s.defaultErrnoRet !== null ? ` (errno ${s.defaultErrnoRet})` : ''}, ${s.rules} rules over ${s.syscalls} system calls` +
        `${s.argumentRules ? ` (${s.argumentRules} compare arguments)` : ''}, architectures ${s.architectures.join(', ') || 'native'}` +
        `${s.flags.length ? `, flags ${s.flags.join(', ')}` : ''}`,
    );
  }

  for (const a of doc.runtime.filter((x) => x.when === 'create' || x.when === 'spawn')) runtimeBlock(out, a);
  let process: ProcessName | undefined;
  for (const step of doc.steps) {
    if (step.process !== process) {
      process = step.process;
      out();
      out(`── ${PROCESS_TITLES[process]}`);
    }
    stepBlock(out, step);
    if (step.op === 'park') {
      for (const a of doc.runtime.filter((x) => x.when === 'parked' || x.when === 'start')) runtimeBlock(out, a);
    }
  }
  for (const a of doc.runtime.filter((x) => x.when === 'delete')) runtimeBlock(out, a);
  return `${lines.join('\n')}\n`;
}

function stepBlock(out: (s?: string) => void, s: ExplainedStep): void {
  out(`#${String(s.index).padEnd(3)} ${s.op.padEnd(12)} ${s.field}`);
  for (const c of s.calls) out(`       ${c}`);
  for (const r of s.runtime) out(`       runtime: ${r}`);
  if (s.why) out(`       why: ${s.why}`);
}

function runtimeBlock(out: (s?: string) => void, a: RuntimeAction): void {
  out();
  out(`── ${WHEN_TITLES[a.when]}: ${a.what} (${a.field})`);
  for (const c of a.calls) out(`       ${c}`);
}
