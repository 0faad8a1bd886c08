// 04 — pivot_root into a busybox rootfs: the child's "/" becomes the image, and the host's
// filesystem is not just hidden but detached.
//
//   npm run build:ts && node dist/examples/04-pivot-root.js [--skip-bind | --no-pivot]
//
// Steps (the same ones runt's planner emits, src/plan/build.ts):
//   mount(NULL, "/", NULL, MS_REC|MS_SLAVE, NULL)          host mount events may come in, none go out
//   mount(ROOTFS, ROOTFS, NULL, MS_BIND|MS_REC, NULL)       pivot_root needs the new root to be a mount point
//   {root} = open(ROOTFS, O_PATH)                          later paths resolve inside it (openat2 RESOLVE_IN_ROOT)
//   mount("proc", "{root}/proc", "proc", ...)              a /proc for the new PID namespace, inside the image
//   pivot_root(".", "."); umount2(".", MNT_DETACH)         new root on top, old root detached
//   exec /bin/sh                                           found inside the image
// --skip-bind: leave out the bind mount; pivot_root fails (EBUSY or EINVAL, shown with runt's hint).
// --no-pivot: MS_MOVE the rootfs over "/" and chroot instead (runt --no-pivot): it runs, but the old
// root stays mounted underneath, in the container's namespace.
import { CLONE, MS, type Step } from '../src/building-blocks.js';
import { runSteps } from './lib/run-steps.js';
import { flag, heading, indent, needRootfs, ROOTFS, show } from './lib/show.js';

needRootfs();
const skipBind = flag('skip-bind');
const noPivot = flag('no-pivot');

const steps: Step[] = [
  {
    op: 'mount',
    source: null,
    target: '/',
    fstype: null,
    flags: MS.REC | MS.SLAVE,
    data: null,
    targetInRoot: false,
    mkdir: 'none',
    field: 'linux.rootfsPropagation',
  },
  ...(skipBind
    ? []
    : [
        {
          op: 'mount',
          source: ROOTFS,
          target: ROOTFS,
          fstype: null,
          flags: MS.BIND | MS.REC,
          data: null,
          targetInRoot: false,
          mkdir: 'none',
          field: 'root.path',
        } as Step,
      ]),
  { op: 'openRoot', path: ROOTFS, field: 'root.path' },
  {
    op: 'mount',
    source: 'proc',
    target: '/proc',
    fstype: 'proc',
    flags: MS.NOSUID | MS.NODEV | MS.NOEXEC,
    data: null,
    targetInRoot: true,
    mkdir: 'none',
    field: 'mounts[0]',
  },
  noPivot ? { op: 'moveRoot', field: 'root.path' } : { op: 'pivotRoot', field: 'root.path' },
  {
    op: 'exec',
    name: '/bin/sh',
    searchPath: '',
    preserveFds: 0,
    env: ['PATH=/bin:/sbin:/usr/bin'],
    field: 'process.args',
    args: [
      'sh',
      '-c',
      'echo "/ holds: $(ls / | tr "\\n" " ")"; echo "$(wc -l < /proc/self/mountinfo) mounts:"; cut -d" " -f1-5,10 /proc/self/mountinfo',
    ],
  },
];

heading(`${noPivot ? 'MS_MOVE + chroot' : 'pivot_root'} into ${ROOTFS}${skipBind ? ', without the bind mount first' : ''}`);
const r = await runSteps({ cloneFlags: CLONE.NEWNS | CLONE.NEWPID, steps, capture: true });
if (r.failure) {
  const f = r.failure;
  show('failed step', `#${f.step} ${f.op}: ${f.message}: ${f.errno}`);
  show('hint (src/plan/hints.ts)', f.hint ?? '-');
  console.log('\n  The rootfs is a plain directory, not a mount point, and pivot_root(2) refuses it: EBUSY when the');
  console.log('  directory lies on the mount of the current root (as here), EINVAL when it lies on another mount.');
  console.log('  That is why the planner bind-mounts the rootfs onto itself first.');
} else {
  console.log(indent(r.output));
  console.log(
    noPivot
      ? '\n  It works, but the host\'s root is still mounted underneath in this namespace (chroot only changes\n  where "/" resolves). pivot_root + MNT_DETACH removes it: runt uses --no-pivot only when asked.'
      : '\n  The image is "/", and the host\'s mounts are gone from this namespace: the old root was detached.',
  );
}
show('exit status', r.code ?? `signal ${r.signal}`);
