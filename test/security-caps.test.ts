// Inheritable capabilities (the class of CVE-2022-29162): no capability is inheritable unless the
// config lists it, for the init and for exec'd processes. The attack: a program in the image with
// inheritable file capabilities gains them at execve when the process's inheritable set has them,
// even though the config never put them in the permitted set.
import t from 'tap';
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { capMask, describe, makeBundle, parseStatus, stateRoot } from './helpers/index.js';
import type { Spec } from '../src/spec/types.js';
import { needsProbe, probeBinary } from './security-helpers.js';

const NONE = '0000000000000000';
// setcap comes from libcap2-bin (install.sh installs it; a bare Debian may lack it).
const needsSetcap = (): false | string =>
  spawnSync('setcap', ['-v'], { stdio: 'ignore' }).error ? 'needs setcap (Debian package libcap2-bin)' : false;
const NET_RAW = capMask(['CAP_NET_RAW']);
const statusOf = (stdout: string) => parseStatus(stdout);

/** /capprobe: the probe with file capabilities cap_net_raw in its inheritable and effective sets. */
function withCapProbe(rootfs: string): void {
  const path = join(rootfs, 'capprobe');
  copyFileSync(probeBinary()!, path);
  execFileSync('setcap', ['cap_net_raw+ei', path]);
}

/** A non-root process (root gains its whole bounding set at any execve anyway) with NET_RAW only
 *  in the bounding set, plus `inheritable` as given. */
function capsFor(inheritable: string[]) {
  return (s: Spec) => {
    const caps = s.process!.capabilities!;
    caps.bounding = [...(caps.bounding ?? []), 'CAP_NET_RAW'];
    caps.inheritable = inheritable;
    s.process!.user = { uid: 1000, gid: 1000 };
    // File capabilities are ignored under no_new_privs; CVE-2022-29162 needs it off.
    s.process!.noNewPrivileges = false;
  };
}

t.test('by default nothing is inheritable or ambient, in the init and in what it runs', async (t) => {
  const root = stateRoot(t);
  const r = root.run(makeBundle(t, 'cat /proc/self/status'));
  t.equal(r.code, 0, describe(r));
  const status = statusOf(r.stdout);
  t.equal(status.CapInh, NONE, 'CapInh');
  t.equal(status.CapAmb, NONE, 'CapAmb');
  t.equal(status.CapEff, capMask(['CAP_AUDIT_WRITE', 'CAP_KILL', 'CAP_NET_BIND_SERVICE']), 'CapEff is what the config lists');
});

t.test('an inheritable capability appears only when the config asks', async (t) => {
  const root = stateRoot(t);
  const r = root.run(makeBundle(t, 'cat /proc/self/status', capsFor(['CAP_NET_RAW'])));
  t.equal(r.code, 0, describe(r));
  t.equal(statusOf(r.stdout).CapInh, NET_RAW, 'CapInh shows the configured capability');
});

t.test(
  'a file with inheritable capabilities gains nothing unless the config made them inheritable',
  { skip: needsProbe() || needsSetcap() },
  async (t) => {
    const root = stateRoot(t);
    const safe = root.run(
      makeBundle(t, '/capprobe caps', (s, b) => {
        capsFor([])(s);
        withCapProbe(b.rootfs);
      }),
    );
    t.equal(safe.code, 0, describe(safe));
    t.equal(statusOf(safe.stdout).CapPrm, NONE, "default: the file's capabilities are not granted (nothing inheritable to meet them)");

    // The attack's precondition, shown: with NET_RAW inheritable (as runc < 1.1.2 made every bounding
    // capability), executing the same file grants it.
    const vulnerable = root.run(
      makeBundle(t, '/capprobe caps', (s, b) => {
        capsFor(['CAP_NET_RAW'])(s);
        withCapProbe(b.rootfs);
      }),
    );
    t.equal(vulnerable.code, 0, describe(vulnerable));
    t.equal(statusOf(vulnerable.stdout).CapPrm, NET_RAW, 'with NET_RAW inheritable the file gains it');
  },
);

t.test("exec'd processes: nothing inheritable, also with --cap", async (t) => {
  const root = stateRoot(t);
  const b = makeBundle(t, 'sleep 60');
  const c = root.create(b);
  t.equal(c.code, 0, describe(c));
  t.equal(root.runt(['start', c.id]).code, 0);

  const plain = root.runt(['exec', c.id, 'cat', '/proc/self/status']);
  t.equal(plain.code, 0, describe(plain));
  t.equal(statusOf(plain.stdout).CapInh, NONE, 'exec: CapInh');
  t.equal(statusOf(plain.stdout).CapAmb, NONE, 'exec: CapAmb');

  const withCap = root.runt(['exec', '--cap', 'CAP_NET_RAW', c.id, 'cat', '/proc/self/status']);
  t.equal(withCap.code, 0, describe(withCap));
  const status = statusOf(withCap.stdout);
  t.equal(
    (BigInt(`0x${status.CapEff}`) & BigInt(`0x${NET_RAW}`)).toString(16),
    NET_RAW.replace(/^0+/, ''),
    'exec --cap grants the capability',
  );
  t.equal(status.CapInh, NONE, 'but does not make it inheritable');
});
