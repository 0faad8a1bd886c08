// Where the planner puts the hardening steps (pure: no container is run).
import t from 'tap';
import { buildPlan, type PlanContext } from '../src/plan/build.js';
import { defaultSpec } from '../src/spec/default.js';
import type { Spec } from '../src/spec/types.js';
import type { Step } from '../src/plan/steps.js';
import { FS_MAGIC, PR } from '../src/plan/constants.js';
import { sysctlNamespace, sysctlPath } from '../src/security/sysctl.js';

const CTX: PlanContext = {
  bundle: '/b',
  rootfs: '/b/rootfs',
  execFifoFd: 99,
  nsFds: {},
  noPivot: false,
  preserveFds: 0,
  trace: false,
  cgroupMounts: [],
  lastCap: 40,
};
const planOf = (patch?: (s: Spec) => void, ctx: Partial<PlanContext> = {}): Step[] => {
  const spec = defaultSpec();
  patch?.(spec);
  return buildPlan(spec, { ...CTX, ...ctx }).steps;
};

t.test('the init is made non-dumpable before anything else, joined namespaces included', async (t) => {
  for (const [name, steps] of [
    ['new namespaces', planOf()],
    [
      'joined namespaces',
      planOf(
        (s) => {
          s.linux!.namespaces!.find((n) => n.type === 'network')!.path = '/proc/1/ns/net';
        },
        { nsFds: { network: 7 } },
      ),
    ],
  ] as const) {
    t.match(steps[0], { op: 'prctl', option: PR.SET_DUMPABLE, arg2: 0 }, `${name}: first step`);
    t.equal(steps.filter((s) => s.op === 'prctl' && s.option === PR.SET_DUMPABLE).length, 1, `${name}: and never undone`);
  }
});

t.test('sysctls are written before masks and read-only paths', async (t) => {
  const steps = planOf((s) => {
    s.linux!.sysctl = { 'kernel.shmmax': '1' };
  });
  const write = steps.findIndex((s) => s.op === 'writeProc' && s.path === '/proc/sys/kernel/shmmax');
  const firstMask = steps.findIndex((s) => s.op === 'mask');
  const readonlySys = steps.findIndex((s) => s.op === 'mount' && s.target === '/proc/sys');
  t.ok(write >= 0 && write < firstMask && write < readonlySys, `write ${write}, mask ${firstMask}, read-only /proc/sys ${readonlySys}`);
});

t.test('masks and read-only binds under /proc must find procfs (when proc is mounted at /proc)', async (t) => {
  const steps = planOf();
  const masks = steps.filter((s): s is Extract<Step, { op: 'mask' }> => s.op === 'mask');
  for (const m of masks) {
    if (m.path.startsWith('/proc/')) t.equal(m.expectFs, FS_MAGIC.PROC, `${m.path}: procfs`);
    else t.equal(m.expectFs, undefined, `${m.path}: no check outside /proc`);
  }
  const bind = steps.find((s) => s.op === 'mount' && s.target === '/proc/sys' && s.sourceInRoot);
  t.match(bind, { expectFs: FS_MAGIC.PROC }, '/proc/sys bind');

  const noProc = planOf((s) => {
    s.mounts = s.mounts!.filter((m) => m.type !== 'proc');
  });
  t.ok(
    noProc.filter((s) => s.op === 'mask').every((s) => !('expectFs' in s)),
    'no proc mount at /proc: nothing to compare with',
  );
});

t.test('sysctl keys: namespaces and paths', async (t) => {
  t.equal(sysctlNamespace('kernel.shmmax'), 'ipc');
  t.equal(sysctlNamespace('kernel.msg_next_id'), 'ipc');
  t.equal(sysctlNamespace('fs.mqueue.queues_max'), 'ipc');
  t.equal(sysctlNamespace('fs/mqueue/msg_max'), 'ipc', 'slash form');
  t.equal(sysctlNamespace('net.core.somaxconn'), 'network');
  t.equal(sysctlNamespace('kernel.hostname'), 'uts');
  for (const key of ['vm.swappiness', 'kernel.pid_max', 'kernel.shmmax_typo', 'fs.file-max', 'kernel.core_pattern', 'netfilter.x']) {
    t.equal(sysctlNamespace(key), undefined, `${key}: host-wide`);
  }
  t.equal(sysctlPath('net.ipv4.ip_forward'), '/proc/sys/net/ipv4/ip_forward');
  t.notMatch(sysctlPath('net/../../kernel/pid_max'), /\.\./, 'no ".." survives');
});
