// The planner for a process joining a running container (`runt exec`): it enters the namespaces of
// the container's init (it is already in the container's cgroups: born there, or moved there by the
// runtime at a sync), then takes the process's own steps (the same ones an init takes, without
// parking: see planProcess).
import type { Process, Spec } from '../spec/types.js';
import { JOIN_ORDER, NAMESPACES, PR } from './constants.js';
import { planProcess, type ProcessPlanContext } from './build.js';
import type { SpawnConfig, Step } from './steps.js';
import { SYNC_TAG } from './steps.js';
import { affinityStep, memoryPolicyStep, personalityStep } from './process-attrs.js';
import type { CgroupBirthFds } from '../cgroups/birth.js';

export interface ExecPlanContext extends ProcessPlanContext {
  /** OCI namespace type → fd of /proc/<init>/ns/<type>, for each namespace of the container that
   *  differs from the runtime's own (-1 when only explaining). */
  nsFds: Record<string, number>;
  /** The container's linux section: its memoryPolicy and personality apply to every process of it. */
  containerLinux?: Spec['linux'];
  trace: boolean;
  /** Parent fds that become the process's stdin, stdout, stderr (-1: inherit runt's). */
  stdio?: [number, number, number];
  /** The process is born in the container's cgroups with these fds (src/cgroups/birth.ts decides);
   *  without them the runtime moves it at a sync. */
  birth?: CgroupBirthFds;
  /** The container has no mount namespace of its own (it shares the runtime's): the process enters
   *  the init's root directory, this path (/proc/<init>/root), with chroot. */
  rootOf?: string;
}

export interface ExecPlan extends SpawnConfig {
  /** Namespace types the process joins, in order. */
  joined: string[];
}

export function buildExecPlan(process: Process, ctx: ExecPlanContext): ExecPlan {
  const steps: Step[] = [];
  steps.push({
    op: 'prctl',
    option: PR.SET_DUMPABLE,
    arg2: 0,
    field: 'runtime (exec)',
    why: 'nothing in the container may ptrace the process or open its /proc files before it execs',
  });

  steps.push(...affinityStep(process, 'initial'));

  const joined = JOIN_ORDER.filter((type) => type in ctx.nsFds);
  for (const type of joined) {
    steps.push({
      op: 'setns',
      fd: ctx.nsFds[type],
      nstype: NAMESPACES[type].flag,
      name: `${type} namespace of the container`,
      field: 'linux.namespaces',
      why: type === 'user' ? 'the user namespace first: it grants the rights to join the others' : `join the container's ${type} namespace`,
    });
  }
  // A PID (or time) namespace applies to children only.
  if (joined.includes('pid') || joined.includes('time')) {
    steps.push({ op: 'fork', flags: 0, field: 'linux.namespaces', why: "fork so the process is inside the container's PID namespace" });
  }
  // The runtime has work to do once the process is in the container's namespaces: move it into the
  // cgroups (when it was not born in them) or set its oom_score_adj.
  if (!ctx.birth || process.oomScoreAdj !== undefined) {
    steps.push({
      op: 'sync',
      tag: SYNC_TAG.INIT,
      field: 'linux.cgroupsPath',
      why: "runtime places the process in the container's cgroups, sets oom_score_adj",
    });
  }
  if (ctx.rootOf) {
    steps.push({
      op: 'openRoot',
      path: ctx.rootOf,
      field: 'root.path',
      why: "the container shares the runtime's mount namespace: its root is the init's root directory",
    });
    steps.push({ op: 'chroot', field: 'linux.namespaces', why: "no mount namespace to join: chroot into the container's root" });
  }
  steps.push(...personalityStep({ linux: ctx.containerLinux }), ...memoryPolicyStep({ linux: ctx.containerLinux }));
  steps.push(...planProcess({ process }, { ...ctx, execFifoFd: undefined }));

  return {
    cloneFlags: 0,
    stdio: ctx.stdio ?? [-1, -1, -1],
    preserveFds: ctx.preserveFds,
    trace: ctx.trace,
    pdeathSig: 0,
    steps,
    joined,
    ...(ctx.birth && { cgroupFd: ctx.birth.cgroupFd, cgroupTaskFds: ctx.birth.cgroupTaskFds }),
  };
}
