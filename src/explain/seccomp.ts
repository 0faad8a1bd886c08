// linux.seccomp in a few numbers: enough to see what a filter does without reading its BPF.
import type { Seccomp } from '../spec/types.js';

export interface SeccompSummary {
  defaultAction: string;
  defaultErrnoRet: number | null;
  architectures: string[];
  flags: string[];
  /** Entries of linux.seccomp.syscalls. */
  rules: number;
  /** System call names across all rules. */
  syscalls: number;
  /** Rules that compare arguments. */
  argumentRules: number;
  /** Action → number of system call names it applies to. */
  actions: Record<string, number>;
  listenerPath: string | null;
}

export function summarizeSeccomp(s: Seccomp): SeccompSummary {
  const actions: Record<string, number> = {};
  let syscalls = 0;
  let argumentRules = 0;
  for (const rule of s.syscalls ?? []) {
    syscalls += rule.names.length;
    actions[rule.action] = (actions[rule.action] ?? 0) + rule.names.length;
    if (rule.args?.length) argumentRules += 1;
  }
  return {
    defaultAction: s.defaultAction,
    defaultErrnoRet: s.defaultErrnoRet ?? null,
    architectures: s.architectures ?? [],
    flags: s.flags ?? [],
    rules: s.syscalls?.length ?? 0,
    syscalls,
    argumentRules,
    actions,
    listenerPath: s.listenerPath ?? null,
  };
}
