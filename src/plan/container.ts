// The plan `create` carries out for a container's init. `runt explain` calls it too (with
// placeholder fds), so what it prints is what runs.
import type { Spec } from '../spec/types.js';
import type { CgroupBirthFds, CgroupMountSource } from '../cgroups/index.js';
import { checkLsmFields } from '../security/lsm.js';
import { compileSeccompFilter } from '../security/seccomp.js';
import { buildPlan, type Plan, type PlanContext } from './build.js';
import { lastCap } from './last-cap.js';
import { idMapMethod, inUserNamespace, isRootless } from '../rootless.js';

/** What planContainer needs besides the spec; fds are -1 when only explaining. */
export interface PlanInputs {
  bundle: string;
  rootfs: string;
  id: string;
  execFifoFd: number;
  /** Namespace type → fd of the namespace to join. */
  nsFds: Record<string, number>;
  cgroupMounts: CgroupMountSource[];
  noPivot?: boolean;
  noNewKeyring?: boolean;
  preserveFds?: number;
  trace?: boolean;
  stdio?: [number, number, number];
  /** See PlanContext.birth. */
  birth?: CgroupBirthFds;
  /** See PlanContext.extraMounts and networkSync. */
  extraMounts?: PlanContext['extraMounts'];
  networkSync?: PlanContext['networkSync'];
  idmapFds?: PlanContext['idmapFds'];
  netlinkFd?: number;
}

export function planContainer(spec: Spec, p: PlanInputs): Plan {
  const preserveFds = p.preserveFds ?? 0;
  checkLsmFields(spec.process, spec.linux);
  return buildPlan(withActivationEnv(spec, preserveFds), {
    bundle: p.bundle,
    rootfs: p.rootfs,
    execFifoFd: p.execFifoFd,
    nsFds: p.nsFds,
    noPivot: p.noPivot ?? false,
    preserveFds,
    trace: p.trace ?? false,
    cgroupMounts: p.cgroupMounts,
    seccompFilter: spec.linux?.seccomp ? compileSeccompFilter(spec.linux.seccomp) : undefined,
    lastCap: lastCap(),
    stdio: p.stdio,
    id: p.id,
    newKeyring: !p.noNewKeyring,
    birth: p.birth,
    setgroupsDenied: idMapMethod(spec.linux).setgroupsDenied,
    rootless: isRootless(),
    inUserNamespace: inUserNamespace(),
    extraMounts: p.extraMounts,
    networkSync: p.networkSync,
    idmapFds: p.idmapFds,
    netlinkFd: p.netlinkFd,
  });
}

/** With --preserve-fds the passed sockets follow the systemd activation protocol. */
function withActivationEnv(spec: Spec, preserveFds: number): Spec {
  if (!preserveFds || !spec.process) return spec;
  const env = (spec.process.env ?? []).filter((e) => !e.startsWith('LISTEN_FDS=') && !e.startsWith('LISTEN_PID='));
  env.push(`LISTEN_FDS=${preserveFds}`);
  if (spec.linux?.namespaces?.some((ns) => ns.type === 'pid' && !ns.path)) env.push('LISTEN_PID=1');
  return { ...spec, process: { ...spec.process, env } };
}
