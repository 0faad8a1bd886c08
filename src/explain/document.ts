// `runt explain`: the exact plan `create` would carry out for a bundle, built by the same code
// (planContainer, the cgroup manager's paths and mount sources) with placeholder fds, plus the
// runtime's own part that is not a step: clone3, cgroup files, id maps, hooks, the exec fifo.
// Nothing is created, mounted or written. The JSON shape is documented in docs/EXPLAIN.md.
import { resolve } from 'node:path';
import type { Spec } from '../spec/types.js';
import { loadBundleSpec, rootfsPath } from '../spec/load.js';
import { validateSpec } from '../spec/validate.js';
import { createsUserNamespace, type Plan, type PlanContext } from '../plan/build.js';
import { planContainer } from '../plan/container.js';
import { storeRoot } from '../store-root.js';
import { prepareVolumes } from '../volume/attach.js';
import { prepareNetworks, wantsNetwork, type NetworkRecord, type PreparedNetworks } from '../network/attach.js';
import { pluginConfig } from '../network/chain.js';
import { ETC_FILES } from '../network/etc-files.js';
import { NAMESPACES } from '../plan/constants.js';
import { SYNC_TAG, type Step } from '../plan/steps.js';
import { createCgroupManager, describeBirth, withDefaultDeviceRules, type CgroupManager } from '../cgroups/index.js';
import { DEFAULT_ROOT, StateStore } from '../state/store.js';
import { cloneFlagNames, joinFlags } from './names.js';
import { describeStep } from './steps.js';
import { summarizeSeccomp, type SeccompSummary } from './seccomp.js';

export const EXPLAIN_FORMAT = 'runt-explain/1';

/** Which process carries a step out. */
export type ProcessName = 'intermediate' | 'init-before-pivot' | 'init-after-pivot' | 'init-after-start';

/** When the runtime does something of its own. */
export type RuntimeWhen = 'create' | 'spawn' | 'sync-init' | 'sync-network' | 'sync-create-runtime' | 'parked' | 'start' | 'delete';

export interface ExplainedStep {
  index: number;
  op: string;
  field: string;
  process: ProcessName;
  calls: string[];
  args: Record<string, unknown>;
  why: string | null;
  /** What the runtime does while the init waits at this step (sync points); else empty. */
  runtime: string[];
}

export interface RuntimeAction {
  when: RuntimeWhen;
  /** The sync step this happens at, for sync-init and sync-create-runtime; else null. */
  step: number | null;
  what: string;
  field: string;
  calls: string[];
}

export interface ExplainedNamespace {
  type: string;
  field: string;
  /** clone3: created with the process; unshare: created by a step; join: setns to `path`. */
  how: 'clone3' | 'unshare' | 'join';
  path: string | null;
}

export interface ExplainDocument {
  format: typeof EXPLAIN_FORMAT;
  id: string;
  bundle: string;
  rootfs: string;
  clone3: { flags: string[]; call: string };
  namespaces: ExplainedNamespace[];
  idMappings: { uid: string[]; gid: string[] } | null;
  cgroups: { layout: string; paths: Record<string, string>; writes: CgroupWrite[] };
  seccomp: SeccompSummary | null;
  runtime: RuntimeAction[];
  steps: ExplainedStep[];
}

/** A cgroup write as explain shows it: the file, the value and the field it serves. */
export interface CgroupWrite {
  /** Absolute path of the file (for the eBPF device program: the cgroup directory). */
  file: string;
  value: string;
  field: string;
}

export interface ExplainOptions {
  bundle?: string;
  /** Use this spec instead of <bundle>/config.json. */
  spec?: Spec;
  /** The container id the plan is for (cgroup paths, keyring name); default "<id>". */
  id?: string;
  /** State root (where the exec fifo would be); default /run/runt. */
  root?: string;
  noPivot?: boolean;
  noNewKeyring?: boolean;
  preserveFds?: number;
  /** Plan as run/create with these -v, --tmpfs, --network, -p, --ip (nothing is created). */
  volumes?: string[];
  tmpfs?: string[];
  networks?: string[];
  ports?: string[];
  ip?: string;
  cniPath?: string[];
  /** runt's store (--store), where volumes and networks are looked up. */
  store?: string;
  /** Where the cgroup mounts are (default /sys/fs/cgroup; tests point it at a fake cgroupfs). */
  cgroupMountRoot?: string;
}

const PLACEHOLDER_ID = 'ID';

export function explainBundle(opts: ExplainOptions = {}): ExplainDocument {
  const bundle = resolve(opts.bundle ?? '.');
  const spec = opts.spec ? validateSpec(opts.spec) : loadBundleSpec(bundle);
  const rootfs = rootfsPath(bundle, spec);
  const id = opts.id ?? PLACEHOLDER_ID;
  const cgroup = createCgroupManager({ cgroupsPath: spec.linux?.cgroupsPath, id, mountRoot: opts.cgroupMountRoot });
  const nsFds = Object.fromEntries((spec.linux?.namespaces ?? []).filter((n) => n.path).map((n) => [n.type, -1]));
  const stateStore = new StateStore(opts.root ?? DEFAULT_ROOT);
  const user = { root: resolve(stateStore.root), id };
  const storeDir = storeRoot(opts.store);
  const extraMounts: NonNullable<PlanContext['extraMounts']> = [];
  if ((opts.volumes?.length ?? 0) + (opts.tmpfs?.length ?? 0) > 0) {
    extraMounts.push(...prepareVolumes(storeDir, user, { volumes: opts.volumes, tmpfs: opts.tmpfs }, true).mounts);
  }
  let network: PreparedNetworks | undefined;
  if (wantsNetwork(opts)) {
    network = prepareNetworks(storeDir, user, stateStore.dir(id), spec, opts, true);
    extraMounts.push(...network.mounts);
  }
  const plan = planContainer(spec, {
    bundle,
    rootfs,
    id,
    execFifoFd: -1,
    nsFds,
    cgroupMounts: cgroup.mountSources(),
    noPivot: opts.noPivot,
    noNewKeyring: opts.noNewKeyring,
    preserveFds: opts.preserveFds,
    trace: false,
    birth: cgroup.openBirth({ newUserNamespace: createsUserNamespace(spec), dryRun: true }) ?? undefined,
    extraMounts,
    networkSync: network && { field: `networks (${network.record.attachments.map((a) => a.network).join(', ')})`, why: network.why },
  });
  const execFifo = stateStore.fifoPath(id);
  const seccomp = spec.linux?.seccomp ? summarizeSeccomp(spec.linux.seccomp) : null;
  // The same writes create carries out, planned without reading the host (nothing exists yet).
  const writes = cgroup
    .planWrites(withDefaultDeviceRules(spec.linux?.resources, spec.linux?.devices), false)
    .writes.map(({ file, value, field }): CgroupWrite => ({ file, value, field }));

  const runtime = runtimeActions(
    spec,
    plan,
    cgroup,
    writes,
    execFifo,
    seccomp,
    network && { record: network.record, stateDir: stateStore.dir(id), id },
  );
  const processes = processOf(plan.steps);
  const steps = plan.steps.map((step, index): ExplainedStep => {
    const d = describeStep(step, { seccomp: seccomp ?? undefined, execFifo });
    return {
      index,
      op: step.op,
      field: step.field,
      process: processes[index],
      calls: d.calls,
      args: d.args,
      why: step.why ?? null,
      runtime: runtime.filter((a) => a.step === index).flatMap((a) => a.calls),
    };
  });
  const namespaces = (spec.linux?.namespaces ?? []).map((n, i): ExplainedNamespace => ({
    type: n.type,
    field: `linux.namespaces[${i}]`,
    how: n.path ? 'join' : plan.cloneFlags & NAMESPACES[n.type].flag ? 'clone3' : 'unshare',
    path: n.path ?? null,
  }));
  const cloneFlags = cloneFlagNames(plan.cloneFlags);
  return {
    format: EXPLAIN_FORMAT,
    id,
    bundle,
    rootfs,
    clone3: {
      flags: cloneFlags,
      call: `clone3({flags: CLONE_PIDFD${plan.cloneFlags ? `|${joinFlags(cloneFlags)}` : ''}, exit_signal: SIGCHLD})`,
    },
    namespaces,
    idMappings: plan.newUserNamespace
      ? { uid: (spec.linux?.uidMappings ?? []).map(mapLine), gid: (spec.linux?.gidMappings ?? []).map(mapLine) }
      : null,
    cgroups: { layout: cgroup.kind, paths: cgroup.paths, writes },
    seccomp,
    runtime,
    steps,
  };
}

function mapLine(m: { containerID: number; hostID: number; size: number }): string {
  return `${m.containerID} ${m.hostID} ${m.size}`;
}

function processOf(steps: Step[]): ProcessName[] {
  const fork = steps.findIndex((s) => s.op === 'fork');
  const pivot = steps.findIndex((s) => s.op === 'pivotRoot' || s.op === 'moveRoot' || s.op === 'chroot');
  const park = steps.findIndex((s) => s.op === 'park');
  return steps.map((_, i) => {
    if (i <= fork) return 'intermediate';
    if (park >= 0 && i > park) return 'init-after-start';
    if (pivot >= 0 && i > pivot) return 'init-after-pivot';
    return 'init-before-pivot';
  });
}

/** The runtime's side, in the order `create`, `start` and `delete` do it (src/lifecycle/). */
function runtimeActions(
  spec: Spec,
  plan: Plan,
  cgroup: CgroupManager,
  writes: CgroupWrite[],
  execFifo: string,
  seccomp: SeccompSummary | null,
  network?: { record: NetworkRecord; stateDir: string; id: string },
): RuntimeAction[] {
  const out: RuntimeAction[] = [];
  const linux = spec.linux ?? {};
  const hooks = spec.hooks ?? {};
  const dirs = Object.values(cgroup.paths);
  const add = (when: RuntimeWhen, step: number | null, what: string, field: string, calls: string[]) => {
    if (calls.length) out.push({ when, step, what, field, calls });
  };
  const syncStep = (tag: number) => {
    const i = plan.steps.findIndex((s) => s.op === 'sync' && s.tag === tag);
    return i >= 0 ? i : null;
  };
  const hookCalls = (name: keyof typeof hooks) =>
    (hooks[name] ?? []).map(
      (h, i) =>
        `hooks.${name}[${i}]: run ${[h.path, ...(h.args ?? [h.path]).slice(1)].join(' ')} with the state JSON on stdin${h.timeout ? `, killed after ${h.timeout} s` : ''}`,
    );

  add(
    'create',
    null,
    'cgroups',
    linux.cgroupsPath !== undefined ? 'linux.cgroupsPath' : 'linux.cgroupsPath (default /runt/<id>)',
    dirs.map((d) => `mkdir ${d}`),
  );
  add(
    'create',
    null,
    'cgroup limits',
    'linux.resources',
    writes.map((w) => `write ${w.file} ${JSON.stringify(w.value)}   (${w.field})`),
  );
  add('create', null, 'exec fifo', 'runtime (create/start)', [
    `mkfifo ${execFifo} 0600`,
    `open ${execFifo} O_RDWR (kept by the init for the park step)`,
  ]);
  (linux.namespaces ?? []).forEach((n, i) => {
    if (n.path) add('create', null, `${n.type} namespace to join`, `linux.namespaces[${i}]`, [`open ${n.path} O_RDONLY (fd for setns)`]);
  });
  if (seccomp)
    add('create', null, 'seccomp filter', 'linux.seccomp', [
      `compile with libseccomp: ${seccomp.rules} rules, default ${seccomp.defaultAction}`,
    ]);
  add('spawn', null, 'the container process', 'linux.namespaces', [
    `clone3({flags: CLONE_PIDFD|CLONE_VM|CLONE_VFORK${plan.cloneFlags ? `|${joinFlags(cloneFlagNames(plan.cloneFlags))}` : ''}, exit_signal: SIGCHLD})`,
    'the child: execveat(runt-init memfd, "", AT_EMPTY_PATH); runt-init reads the plan below from a memfd',
  ]);

  const init = syncStep(SYNC_TAG.INIT);
  if (plan.newUserNamespace) {
    add(
      'sync-init',
      init,
      'uid map',
      'linux.uidMappings',
      (linux.uidMappings ?? []).length
        ? [`write /proc/PID/uid_map ${JSON.stringify((linux.uidMappings ?? []).map(mapLine).join('\n'))}`]
        : [],
    );
    add(
      'sync-init',
      init,
      'gid map',
      'linux.gidMappings',
      (linux.gidMappings ?? []).length
        ? [`write /proc/PID/gid_map ${JSON.stringify((linux.gidMappings ?? []).map(mapLine).join('\n'))}`]
        : [],
    );
  }
  if (plan.cgroupTaskFds === undefined) {
    add(
      'sync-init',
      init,
      'join the cgroups',
      'linux.cgroupsPath',
      dirs.map((d) => `write ${d}/cgroup.procs PID`),
    );
  } else {
    // src/cgroups/birth.ts: the cgroup2 directory through clone3, each v1 one by the init.
    add('spawn', null, 'born in the cgroups', 'linux.cgroupsPath', describeBirth(cgroup.paths));
  }
  if (init !== null) {
    if (spec.process?.oomScoreAdj !== undefined)
      add('sync-init', init, 'oom score', 'process.oomScoreAdj', [`write /proc/PID/oom_score_adj "${spec.process.oomScoreAdj}"`]);
    add('sync-init', init, 'release the init', 'runtime', ['ACK with the state JSON (stdin of the hooks run inside the container)']);
  }

  if (network) {
    const step = syncStep(SYNC_TAG.NETWORK);
    const { record, stateDir } = network;
    const field = `networks (${record.attachments.map((a) => a.network).join(', ')})`;
    add('create', null, 'network record', field, [
      `write ${stateDir}/networks.json (networks, interfaces, ports; each plugin's result is cached here as it comes)`,
      ...record.ports.map((p) => `claim host port ${p.hostPort}/${p.protocol} (<store>/networks/ports/${p.protocol}-${p.hostPort})`),
    ]);
    add('sync-network', step, 'keep the network namespace for DEL', field, [`mount --bind /proc/PID/ns/net ${stateDir}/netns`]);
    for (const a of record.attachments) {
      add(
        'sync-network',
        step,
        `CNI ADD on network ${a.network}`,
        `networks (${a.network})`,
        a.config.plugins.map(
          (p, i) =>
            `${p.type} ADD: CNI_CONTAINERID=${network.id} CNI_NETNS=/proc/PID/ns/net CNI_IFNAME=${a.ifname} CNI_PATH=${record.cniPath.join(':')}; stdin ${JSON.stringify(pluginConfig(a.config, p, a.runtimeConfig, i ? '<result of the previous plugin>' : undefined))}`,
        ),
      );
    }
    add(
      'sync-network',
      step,
      "the container's /etc files",
      field,
      ETC_FILES.map((f) => `write ${stateDir}/etc-${f} (bind-mounted at /etc/${f})`),
    );
    for (const a of [...record.attachments].reverse()) {
      add(
        'delete',
        null,
        `CNI DEL on network ${a.network}`,
        `networks (${a.network})`,
        [...a.config.plugins]
          .reverse()
          .map(
            (p) => `${p.type} DEL: CNI_NETNS=${stateDir}/netns CNI_IFNAME=${a.ifname}; stdin as for ADD with prevResult: the cached result`,
          ),
      );
    }
    add('delete', null, 'release the network namespace', field, [`umount ${stateDir}/netns`]);
  }

  const createRuntime = syncStep(SYNC_TAG.CREATE_RUNTIME);
  add('sync-create-runtime', createRuntime, 'prestart hooks', 'hooks.prestart', hookCalls('prestart'));
  add('sync-create-runtime', createRuntime, 'createRuntime hooks', 'hooks.createRuntime', hookCalls('createRuntime'));

  add('parked', null, 'container created', 'runtime', ['write state.json (status created, pid, start time); --pid-file if given']);
  add('start', null, 'let the init run', 'runtime (create/start)', [`open ${execFifo} O_WRONLY|O_NONBLOCK; write 1 byte; unlink it`]);
  add('start', null, 'poststart hooks', 'hooks.poststart', hookCalls('poststart'));
  add('delete', null, 'poststop hooks', 'hooks.poststop', hookCalls('poststop'));
  add(
    'delete',
    null,
    'remove the cgroups',
    'linux.cgroupsPath',
    dirs.map((d) => `rmdir ${d}`),
  );
  return out;
}
