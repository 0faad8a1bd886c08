// The process attributes of runtime-spec 1.3 as plan steps: scheduler (sched_setattr), I/O priority
// (ioprio_set), execCPUAffinity (sched_setaffinity), memoryPolicy (set_mempolicy) and personality.
// Each value is checked against what the kernel can carry out; what it cannot is refused with the
// field's name, never dropped.
import { readFileSync } from 'node:fs';
import type { Spec, Process } from '../spec/types.js';
import { PlanError } from '../errors.js';
import type { Step } from './steps.js';

export const SCHED_POLICY: Record<string, number> = {
  SCHED_OTHER: 0,
  SCHED_FIFO: 1,
  SCHED_RR: 2,
  SCHED_BATCH: 3,
  SCHED_IDLE: 5,
  SCHED_DEADLINE: 6,
};
/** In the spec's list, but no mainline kernel has it (sched_setattr answers EINVAL). */
const SCHED_UNSUPPORTED = new Set(['SCHED_ISO']);

export const SCHED_FLAG: Record<string, number> = {
  SCHED_FLAG_RESET_ON_FORK: 0x01,
  SCHED_FLAG_RECLAIM: 0x02,
  SCHED_FLAG_DL_OVERRUN: 0x04,
  SCHED_FLAG_KEEP_POLICY: 0x08,
  SCHED_FLAG_KEEP_PARAMS: 0x10,
  SCHED_FLAG_UTIL_CLAMP_MIN: 0x20,
  SCHED_FLAG_UTIL_CLAMP_MAX: 0x40,
};

export const IOPRIO_CLASS: Record<string, number> = { IOPRIO_CLASS_RT: 1, IOPRIO_CLASS_BE: 2, IOPRIO_CLASS_IDLE: 3 };

export const MPOL_MODE: Record<string, number> = {
  MPOL_DEFAULT: 0,
  MPOL_PREFERRED: 1,
  MPOL_BIND: 2,
  MPOL_INTERLEAVE: 3,
  MPOL_LOCAL: 4,
  MPOL_PREFERRED_MANY: 5,
  MPOL_WEIGHTED_INTERLEAVE: 6,
};
export const MPOL_FLAG: Record<string, number> = {
  MPOL_F_NUMA_BALANCING: 1 << 13,
  MPOL_F_RELATIVE_NODES: 1 << 14,
  MPOL_F_STATIC_NODES: 1 << 15,
};

export const PERSONALITY_DOMAIN: Record<string, number> = { LINUX: 0x0000, LINUX32: 0x0008 };
/** personality flags runt sets (config-linux.md: "currently no flag values are supported"). */
export const PERSONALITY_FLAGS: Record<string, number> = {};

/** "0-3,7" → [0, 1, 2, 3, 7]; `field` names the value in the error. */
export function parseIdList(list: string, field: string): number[] {
  const out = new Set<number>();
  for (const part of list
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p !== '')) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (!m) throw new PlanError(field, `"${part}" is not a number or a range such as 0-3`);
    const from = Number(m[1]);
    const to = m[2] === undefined ? from : Number(m[2]);
    if (to < from) throw new PlanError(field, `range "${part}" runs backwards`);
    if (to >= 8192) throw new PlanError(field, `${to} is beyond the 8192 this runtime handles`);
    for (let n = from; n <= to; n++) out.add(n);
  }
  return [...out].sort((a, b) => a - b);
}

/** process.scheduler and process.ioPriority: before capabilities are dropped (real-time classes
 *  need CAP_SYS_NICE / CAP_SYS_ADMIN) and before any seccomp filter. */
export function schedulingSteps(p: Process): Step[] {
  const steps: Step[] = [];
  const s = p.scheduler;
  if (s) {
    if (SCHED_UNSUPPORTED.has(s.policy))
      throw new PlanError('process.scheduler.policy', `${s.policy} is not implemented by the Linux kernel`);
    const policy = SCHED_POLICY[s.policy];
    if (policy === undefined) throw new PlanError('process.scheduler.policy', `unknown policy "${s.policy}"`);
    const flags = (s.flags ?? []).reduce((f, name) => f | (SCHED_FLAG[name] ?? 0), 0);
    steps.push({
      op: 'sched',
      policy,
      nice: s.nice ?? 0,
      priority: s.priority ?? 0,
      flags,
      runtime: s.runtime ?? 0,
      deadline: s.deadline ?? 0,
      period: s.period ?? 0,
      field: 'process.scheduler',
      why: 'scheduling policy of the process (kept across exec)',
    });
  }
  const io = p.ioPriority;
  if (io) {
    steps.push({
      op: 'ioprio',
      class: IOPRIO_CLASS[io.class],
      level: io.priority ?? 0,
      field: 'process.ioPriority',
      why: 'I/O priority of the process (kept across exec)',
    });
  }
  return steps;
}

/** process.execCPUAffinity for a process joining the container: `initial` before anything else,
 *  `final` right before the exec (config.md: it does not apply to the init). */
export function affinityStep(p: Process, which: 'initial' | 'final'): Step[] {
  const list = p.execCPUAffinity?.[which];
  if (list === undefined || list.trim() === '') return [];
  const field = `process.execCPUAffinity.${which}`;
  const cpus = parseIdList(list, field);
  if (cpus.length === 0) return [];
  return [
    {
      op: 'affinity',
      cpus,
      field,
      why: which === 'initial' ? 'CPUs the process runs on while it is set up' : 'CPUs the process runs on from its exec',
    },
  ];
}

function onlineNodes(): number[] | undefined {
  try {
    return parseIdList(readFileSync('/sys/devices/system/node/online', 'utf8').trim(), 'nodes');
  } catch {
    return undefined;
  }
}

const NEEDS_NODES = new Set(['MPOL_BIND', 'MPOL_INTERLEAVE', 'MPOL_WEIGHTED_INTERLEAVE', 'MPOL_PREFERRED_MANY']);
const NO_NODES = new Set(['MPOL_DEFAULT', 'MPOL_LOCAL']);

/** linux.memoryPolicy: set_mempolicy in the init, inherited by everything it starts. Nodes that are
 *  not online on this host are refused here, by name, rather than by an EINVAL from the kernel. */
export function memoryPolicyStep(spec: Pick<Spec, 'linux'>, online: number[] | undefined = onlineNodes()): Step[] {
  const mp = spec.linux?.memoryPolicy;
  if (!mp) return [];
  const mode = MPOL_MODE[mp.mode];
  if (mode === undefined) throw new PlanError('linux.memoryPolicy.mode', `unknown mode "${mp.mode}"`);
  const nodes = parseIdList(mp.nodes ?? '', 'linux.memoryPolicy.nodes');
  if (NEEDS_NODES.has(mp.mode) && nodes.length === 0) throw new PlanError('linux.memoryPolicy.nodes', `${mp.mode} needs at least one node`);
  if (NO_NODES.has(mp.mode) && nodes.length > 0) throw new PlanError('linux.memoryPolicy.nodes', `${mp.mode} takes no nodes`);
  const flags = mp.flags ?? [];
  if (flags.includes('MPOL_F_STATIC_NODES') && flags.includes('MPOL_F_RELATIVE_NODES')) {
    throw new PlanError('linux.memoryPolicy.flags', 'MPOL_F_STATIC_NODES and MPOL_F_RELATIVE_NODES exclude each other');
  }
  // With MPOL_F_RELATIVE_NODES the numbers are positions in the allowed set, not node ids.
  if (online && !flags.includes('MPOL_F_RELATIVE_NODES')) {
    const missing = nodes.filter((n) => !online.includes(n));
    if (missing.length) {
      throw new PlanError(
        'linux.memoryPolicy.nodes',
        `node${missing.length > 1 ? 's' : ''} ${missing.join(',')} not online on this host (online: ${online.join(',')})`,
      );
    }
  }
  const modeFlags = flags.reduce((f, name) => f | (MPOL_FLAG[name] ?? 0), 0);
  return [
    {
      op: 'mempolicy',
      mode: mode | modeFlags,
      nodes,
      field: 'linux.memoryPolicy',
      why: 'NUMA memory policy, inherited by every process of the container',
    },
  ];
}

/** linux.personality: the execution domain, kept across exec. */
export function personalityStep(spec: Pick<Spec, 'linux'>): Step[] {
  const p = spec.linux?.personality;
  if (!p) return [];
  const domain = PERSONALITY_DOMAIN[p.domain];
  if (domain === undefined) throw new PlanError('linux.personality.domain', `unknown domain "${p.domain}"`);
  let persona = domain;
  (p.flags ?? []).forEach((f, i) => {
    const bit = PERSONALITY_FLAGS[f];
    if (bit === undefined) throw new PlanError(`linux.personality.flags[${i}]`, `"${f}" is not supported (the spec defines no flags)`);
    persona |= bit;
  });
  return [
    {
      op: 'personality',
      persona,
      field: 'linux.personality',
      why: p.domain === 'LINUX32' ? 'uname reports a 32-bit machine (i686)' : 'the Linux execution domain',
    },
  ];
}
