// The step contract: every op the planner can emit (src/plan/steps.ts) must exist on the C++ side
// and in the tools around it. There is no generator (several people add steps at once); this test
// reads the sources and fails, naming the op and the place, when one of them is forgotten:
// csrc/plan.h (enum Op), csrc/plan.cc (OpNames, ReadStep), csrc/plan_blob.cc (VisitPointers),
// csrc/child.cc (RunStep, the executor), src/explain/steps.ts (an entry) and src/plan/hints.ts
// (at least one hint). It also checks that every key the C++ reader takes from a step object is a
// field of some TypeScript step, and that the seccomp names the spec validation accepts
// (src/spec/constants.ts) are the ones csrc/seccomp.cc compiles.
import t from 'tap';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { explainedOps } from '../src/explain/steps.js';
import { hintTable } from '../src/plan/hints.js';
import { SECCOMP_ACTIONS, SECCOMP_ARCHES, SECCOMP_OPERATORS } from '../src/spec/constants.js';
import { native } from '../src/native.js';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const source = (p: string) => readFileSync(join(REPO, p), 'utf8');

/** The text between the braces that follow the first match of `start` (nested braces counted). */
function block(text: string, start: RegExp, where: string): string {
  const m = start.exec(text);
  if (!m) throw new Error(`${where}: ${start} not found`);
  const open = text.indexOf('{', m.index + m[0].length - 1);
  let depth = 0;
  for (let i = open; i < text.length; i++) {
    if (text[i] === '{') depth++;
    else if (text[i] === '}' && --depth === 0) return text.slice(open + 1, i);
  }
  throw new Error(`${where}: unbalanced braces after ${start}`);
}

const cases = (body: string) => new Set([...body.matchAll(/case Op::(\w+)\s*:/g)].map((m) => m[1]));

const stepsTs = source('src/plan/steps.ts');
const tsOps = [...new Set([...stepsTs.matchAll(/\bop: '(\w+)'/g)].map((m) => m[1]))];
const tsFields = new Set([...stepsTs.matchAll(/^\s*(?:export interface \w+ extends StepBase \{)?\s*(\w+)\??:/gm)].map((m) => m[1]));
for (const m of stepsTs.matchAll(/extends StepBase \{([^}]*)\}/g)) for (const f of m[1].matchAll(/(\w+)\??:/g)) tsFields.add(f[1]);

const planH = source('csrc/plan.h');
const enumOps = block(planH, /enum class Op\s*:\s*\w+\s*\{/, 'csrc/plan.h')
  .split(',')
  .map((s) => s.trim())
  .filter(Boolean);
const planCc = source('csrc/plan.cc');
const opNames = new Map(
  [...block(planCc, /OpNames\(\)\s*\{/, 'csrc/plan.cc').matchAll(/\{"(\w+)",\s*Op::(\w+)\}/g)].map((m) => [m[1], m[2]]),
);
const readerCases = cases(block(planCc, /Step ReadStep\([^)]*\)\s*\{/, 'csrc/plan.cc'));
const blobCases = cases(block(source('csrc/plan_blob.cc'), /void VisitPointers\([^)]*\)\s*\{/, 'csrc/plan_blob.cc'));
const executorCases = cases(block(source('csrc/child.cc'), /bool RunStep\([^)]*\)\s*\{/, 'csrc/child.cc'));

const explained = new Set(explainedOps());
const runStep = block(source('csrc/child.cc'), /bool RunStep\([^)]*\)\s*\{/, 'csrc/child.cc');
const executorSources = readdirSync(join(REPO, 'csrc'))
  .filter((f) => /^child.*\.cc$/.test(f))
  .map((f) => source(`csrc/${f}`))
  .join('\n');
/** Ops whose executor cannot fail, so no hint is needed: the case is `...; return true;`, or every
 *  return of the step function it calls is `return true`. */
const cannotFail = new Set<string>();
for (const m of runStep.matchAll(/case Op::(\w+):([^\n]*)$/gm)) {
  const [, op, rest] = m;
  const fn = /return (Step\w+)\(/.exec(rest)?.[1];
  if (/;\s*return true;\s*$/.test(rest)) cannotFail.add(op);
  else if (fn) {
    const body = block(executorSources, new RegExp(`bool ${fn}\\([^)]*\\)\\s*\\{`), `csrc/child*.cc ${fn}`);
    if ([...body.matchAll(/\breturn\b([^;]*);/g)].every((r) => r[1].trim() === 'true')) cannotFail.add(op);
  }
}
const hinted = new Set(hintTable().flatMap((r) => (r.ops === 'any' ? [] : r.ops)));

t.test('steps.ts has ops to check', (t) => {
  t.comment(`executors that cannot fail: ${[...cannotFail].join(', ')}`);
  t.ok(tsOps.length >= 30, `${tsOps.length} ops`);
  t.ok(enumOps.length >= 30, `${enumOps.length} enum entries`);
  t.end();
});

t.test('every op of src/plan/steps.ts is carried through the C++ side and the tools', (t) => {
  for (const op of tsOps) {
    const e = opNames.get(op);
    t.ok(e, `${op}: csrc/plan.cc OpNames has "${op}"`);
    if (!e) continue;
    t.ok(enumOps.includes(e), `${op}: csrc/plan.h enum Op has ${e}`);
    t.ok(readerCases.has(e), `${op}: csrc/plan.cc ReadStep has case Op::${e}`);
    t.ok(blobCases.has(e), `${op}: csrc/plan_blob.cc VisitPointers has case Op::${e}`);
    t.ok(executorCases.has(e), `${op}: csrc/child.cc RunStep has case Op::${e}`);
    t.ok(explained.has(op), `${op}: src/explain/steps.ts describes it`);
    t.ok(hinted.has(op) || cannotFail.has(e), `${op}: src/plan/hints.ts has a hint for it (or its executor cannot fail)`);
  }
  t.end();
});

t.test('the C++ side has no op the planner does not know', (t) => {
  t.same(
    [...opNames.keys()].filter((n) => !tsOps.includes(n)),
    [],
    'OpNames only names ops of steps.ts',
  );
  t.same(
    enumOps.filter((e) => ![...opNames.values()].includes(e)),
    [],
    'every enum entry has a name in OpNames',
  );
  t.end();
});

t.test('every key the C++ reader takes from a step is a field of a TypeScript step', (t) => {
  const reads = new Set<string>();
  for (const m of planCc.matchAll(/\br\.(?:Str|Int|Bool|Fd|IntArray|StrArray|Bytes|Uint|Num)\w*\("(\w+)"/g)) reads.add(m[1]);
  t.ok(reads.size >= 20, `${reads.size} keys read`);
  for (const key of reads) t.ok(tsFields.has(key) || key === 'op', `"${key}" is a step field in steps.ts`);
  t.end();
});

t.test('seccomp: the names validation accepts are the ones csrc/seccomp.cc compiles', (t) => {
  const seccompCc = source('csrc/seccomp.cc');
  const cppActions = [...seccompCc.matchAll(/a == "(SCMP_ACT_\w+)"/g)].map((m) => m[1]);
  const cppOperators = [...seccompCc.matchAll(/op == "(SCMP_CMP_\w+)"/g)].map((m) => m[1]);
  t.same([...cppActions].sort(), [...SECCOMP_ACTIONS].sort(), 'actions');
  t.same([...cppOperators].sort(), [...SECCOMP_OPERATORS].sort(), 'comparison operators');
  // Architectures have no table in C++: SCMP_ARCH_X86_64 becomes libseccomp's "x86_64". Each name
  // the validation accepts compiles, or is refused in one line naming it (a libseccomp too old to
  // know it), or only cannot be mixed with this host's byte order (EDOM).
  const unknown: string[] = [];
  for (const arch of SECCOMP_ARCHES) {
    try {
      native().compileSeccomp({ defaultAction: 'SCMP_ACT_ALLOW', architectures: [arch], syscalls: [] });
    } catch (e) {
      const message = (e as Error).message;
      if (message === `seccomp: unknown architecture ${arch}`) unknown.push(arch);
      else t.match(message, /Numerical argument out of domain/, `${arch}: only the byte order differs`);
    }
  }
  t.ok(!unknown.includes('SCMP_ARCH_X86_64') && !unknown.includes('SCMP_ARCH_X86'), "the host's own architectures resolve");
  if (unknown.length) t.comment(`the linked libseccomp does not know ${unknown.join(', ')} (refused with one line naming it)`);
  t.end();
});
