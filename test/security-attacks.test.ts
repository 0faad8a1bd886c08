// Attacks on the runtime through what a config or an image controls (issue 11, docs/SECURITY.md).
// Each one worked against runt before the fix; each asserts here that it no longer does. No test
// writes a real host file: the attacks are pointed at temporary files the test owns.
import t from 'tap';
import { constants as fsc, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, errorLines, leftovers, makeBundle, parseMountinfo, stateRoot, type Bundle } from './helpers/index.js';
import type { Spec } from '../src/spec/types.js';
import { native } from '../src/native.js';
import { MSG, type SpawnConfig } from '../src/plan/steps.js';
import { CLONE, MS } from '../src/plan/constants.js';
import { reap } from '../src/lifecycle/spawn.js';

/** The config without the tmpfs on /dev: the image's own /dev is used, as an attacker's image wants. */
const imageDev = (s: Spec) => {
  s.mounts = s.mounts!.filter((m) => !m.destination.startsWith('/dev'));
};

/** A host file the test owns, bind-mounted read-write into the container at `dest`. */
function ownedHostFile(b: Bundle, s: Spec, dest: string, content: string): string {
  const file = join(b.hostDir('owned'), 'target');
  writeFileSync(file, content);
  s.mounts!.push({ destination: dest, type: 'bind', source: file, options: ['bind', 'rw'] });
  return file;
}

t.test('CVE-2025-31133 class: a planted /dev/null symlink does not turn a mask into a writable bind', async (t) => {
  const root = stateRoot(t);
  let hostFile = '';
  // Inside: try to write through every masked file, then show the mounts and the null device.
  // A write to the null device succeeds and goes nowhere (a read-only mount does not stop writes
  // to a device node); what matters is where it lands: the size read back stays 0.
  const script =
    'for p in /proc/keys /proc/timer_list /proc/kcore; do [ -e $p ] || continue; echo pwned > $p 2>/dev/null; echo "$p=$(wc -c < $p)"; done; ' +
    'echo "null=$(stat -c %F:%t:%T /dev/null)"; cat /proc/self/mountinfo';
  const b = makeBundle(t, script, (s, b) => {
    imageDev(s);
    hostFile = ownedHostFile(b, s, '/owned', 'untouched\n');
    // The image's /dev/null leads to the attacker's target (here the test's own host file).
    symlinkSync('/owned', join(b.rootfs, 'dev/null'));
  });
  const r = root.run(b);
  t.equal(r.code, 0, describe(r));
  t.equal(readFileSync(hostFile, 'utf8'), 'untouched\n', 'the host file behind the planted link is unchanged');
  for (const p of ['/proc/keys', '/proc/timer_list', '/proc/kcore']) {
    const size = new RegExp(`^${p}=(\\d+)$`, 'm').exec(r.stdout)?.[1];
    if (size === undefined) continue; // not on this kernel
    t.equal(size, '0', `what is written to ${p} lands nowhere`);
  }
  t.match(r.stdout, /^null=character special file:1:3$/m, '/dev/null in the container is the real null device (1:3)');
  const mounts = parseMountinfo(r.stdout);
  // Every masked directory: an empty read-only tmpfs.
  for (const p of ['/sys/firmware', '/proc/acpi', '/proc/scsi']) {
    const m = mounts.filter((x) => x.mountPoint === p).pop();
    if (!m) continue;
    t.ok(m.fstype === 'tmpfs' && m.options.includes('ro'), `${p} is a read-only tmpfs (${m.fstype} ${m.options.join(',')})`);
  }
  for (const p of ['/proc/keys', '/proc/timer_list', '/proc/kcore']) {
    const m = mounts.filter((x) => x.mountPoint === p).pop();
    if (!m) continue;
    t.ok(m.options.includes('ro'), `${p} is mounted read-only (${m.options.join(',')})`);
    t.match(m.root, /\/dev\/null$/, `${p} is a bind of the image's /dev/null (the node runt made), not of ${m.root}`);
  }
});

t.test("CVE-2025-31133 class: the issue's own image, /dev/null -> /proc/sys/kernel/core_pattern, looked at without writing", async (t) => {
  const root = stateRoot(t);
  // The container only reads: mountinfo and the numbers of what /proc/keys is. Before the fix,
  // /proc/keys showed up as a read-write bind of .../sys/kernel/core_pattern.
  const r = root.run(
    makeBundle(t, 'grep " /proc/keys " /proc/self/mountinfo; echo "keys=$(stat -c %F:%t:%T /proc/keys)"', (s, b) => {
      imageDev(s);
      symlinkSync('/proc/sys/kernel/core_pattern', join(b.rootfs, 'dev/null'));
    }),
  );
  t.equal(r.code, 0, describe(r));
  const m = parseMountinfo(r.stdout)
    .filter((x) => x.mountPoint === '/proc/keys')
    .pop();
  if (!m) {
    t.pass('this kernel has no /proc/keys');
    return;
  }
  t.notMatch(m.root, /core_pattern/, `/proc/keys is not a bind of core_pattern (${m.root})`);
  t.ok(m.options.includes('ro'), `and read-only (${m.options.join(',')})`);
  t.match(r.stdout, /^keys=character special file:1:3$/m, '/proc/keys is the null device');
});

t.test('CVE-2025-31133 class: a mask refuses a /dev/null that is not the 1:3 device', async (t) => {
  const root = stateRoot(t);
  // The config itself makes /dev/null something else (/dev/zero's numbers): no mask may use it.
  const r = root.run(
    makeBundle(t, 'true', (s) => {
      s.linux!.devices = [{ path: '/dev/null', type: 'c', major: 1, minor: 5, fileMode: 0o666 }];
      s.linux!.maskedPaths = ['/proc/timer_list'];
    }),
  );
  t.not(r.code, 0, 'refused');
  t.match(errorLines(r).join('\n'), /^linux\.maskedPaths\[0\]: mask \/proc\/timer_list: \/dev\/null is not the null device \(1:3\)/m);
  t.same(leftovers(root.path, r.id), []);
});

t.test('device nodes: what an image has at a device path is replaced, a directory there refused', async (t) => {
  const root = stateRoot(t);
  // A regular file and a device of other numbers where the config's nodes go (no /dev tmpfs).
  const r = root.run(
    makeBundle(t, 'stat -c "%n=%F:%t:%T" /dev/zero /dev/full', (s, b) => {
      imageDev(s);
      writeFileSync(join(b.rootfs, 'dev/zero'), 'a regular file\n');
      symlinkSync('/etc/passwd', join(b.rootfs, 'dev/full'));
    }),
  );
  t.equal(r.code, 0, describe(r));
  t.match(r.stdout, /^\/dev\/zero=character special file:1:5$/m, 'a regular file at /dev/zero became the 1:5 node');
  t.match(r.stdout, /^\/dev\/full=character special file:1:7$/m, 'a symlink at /dev/full became the 1:7 node');

  const dir = root.run(
    makeBundle(t, 'true', (s, b) => {
      imageDev(s);
      mkdirSync(join(b.rootfs, 'dev/null'));
    }),
  );
  t.not(dir.code, 0, 'a directory at /dev/null: refused');
  t.match(errorLines(dir).join('\n'), /^linux\.devices \(default\): mknod \/dev\/null: a directory is in the way/m);
  t.same(leftovers(root.path, dir.id), []);
});

t.test('CVE-2025-52881 class: a bind over a /proc/sys file cannot redirect a sysctl write', async (t) => {
  const root = stateRoot(t);
  let hostFile = '';
  const r = root.run(
    makeBundle(t, 'true', (s, b) => {
      hostFile = ownedHostFile(b, s, '/proc/sys/net/ipv4/ip_forward', 'untouched\n');
      s.linux!.sysctl = { 'net.ipv4.ip_forward': '1' };
    }),
  );
  t.not(r.code, 0, 'refused');
  t.match(
    errorLines(r).join('\n'),
    /^mounts\[\d+\]\.destination: nothing may be mounted inside \/proc \(\/proc\/sys\/net\/ipv4\/ip_forward\)/m,
  );
  t.equal(readFileSync(hostFile, 'utf8'), 'untouched\n', 'the host file is unchanged');
  t.same(leftovers(root.path, r.id), []);

  // The same through a symlink in the image: /x leads into /proc/sys.
  let viaLink = '';
  const link = root.run(
    makeBundle(t, 'true', (s, b) => {
      symlinkSync('/proc/sys/net/ipv4', join(b.rootfs, 'x'));
      viaLink = ownedHostFile(b, s, '/x/ip_forward', 'untouched\n');
      s.linux!.sysctl = { 'net.ipv4.ip_forward': '1' };
    }),
  );
  t.not(link.code, 0, 'refused');
  t.match(
    errorLines(link).join('\n'),
    /^mounts\[\d+\]\.destination: nothing may be mounted inside \/proc .*\(\/x\/ip_forward resolves to \/proc\/sys\/net\/ipv4\/ip_forward in the rootfs\)/m,
  );
  t.equal(readFileSync(viaLink, 'utf8'), 'untouched\n', 'the host file is unchanged');

  // Anything but a procfs on /proc itself is refused too (runc's rule).
  const tmpfsProc = root.run(
    makeBundle(t, 'true', (s) => {
      s.mounts!.push({ destination: '/proc', type: 'tmpfs', source: 'tmpfs' });
    }),
  );
  t.not(tmpfsProc.code, 0);
  t.match(errorLines(tmpfsProc).join('\n'), /^mounts\[\d+\]\.destination: only a procfs may be mounted on \/proc, not "tmpfs"/m);

  // The lxcfs-style exceptions runc allows still work: a file bound over /proc/uptime.
  const lxcfs = root.run(
    makeBundle(t, 'cat /proc/uptime', (s, b) => {
      ownedHostFile(b, s, '/proc/uptime', '42.00 42.00\n');
    }),
  );
  t.equal(lxcfs.code, 0, describe(lxcfs));
  t.equal(lxcfs.stdout, '42.00 42.00\n', 'a bind over /proc/uptime (lxcfs) is allowed');
});

t.test('CVE-2025-52881 class: the sysctl write itself goes to the procfs file, whatever is mounted over its path', async (t) => {
  // No config can put a bind there any more (above), so the executor is driven directly: in a
  // mount namespace of its own, a file the test owns covers /proc/sys/kernel/hostname, then the
  // writeProc step of a sysctl runs. It must reach the kernel (the new UTS namespace's hostname),
  // not the file.
  const n = native();
  const dir = mkdtempSync('/tmp/runt-sec-sysctl-');
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const cover = join(dir, 'cover');
  const out = join(dir, 'out');
  writeFileSync(cover, 'untouched\n');
  const cfg: SpawnConfig = {
    cloneFlags: CLONE.NEWNS | CLONE.NEWUTS,
    stdio: [-1, -1, -1],
    preserveFds: 0,
    trace: false,
    pdeathSig: 9,
    steps: [
      {
        op: 'mount',
        source: null,
        target: '/',
        fstype: null,
        flags: MS.SLAVE | MS.REC,
        data: null,
        targetInRoot: false,
        mkdir: 'none',
        field: 'private mounts',
      },
      {
        op: 'mount',
        source: cover,
        target: '/proc/sys/kernel/hostname',
        fstype: null,
        flags: MS.BIND,
        data: null,
        targetInRoot: false,
        mkdir: 'none',
        field: 'the attack',
      },
      { op: 'writeProc', path: '/proc/sys/kernel/hostname', data: 'runt-sysctl-probe', field: 'linux.sysctl["kernel.hostname"]' },
      { op: 'exec', name: '/bin/sh', args: ['sh', '-c', `hostname > ${out}`], env: [], searchPath: '', preserveFds: 0, field: 'look' },
    ],
  };
  const child = n.spawn(cfg);
  let error: { step: number; errno: number; text: string } | undefined;
  for (;;) {
    const m = n.recv(child.sock);
    if (!m) {
      await n.whenReadable(child.sock);
      continue;
    }
    if (m.type === MSG.ERROR) error = m;
    if (m.type === 0) break;
  }
  n.close(child.sock);
  await reap(child.pidfd);
  t.equal(error, undefined, `no step failed: ${error?.text}`);
  t.equal(readFileSync(cover, 'utf8'), 'untouched\n', 'the file mounted over the sysctl is unchanged');
  t.equal(readFileSync(out, 'utf8'), 'runt-sysctl-probe\n', 'the value reached the kernel');
});

t.test('the runtime opens /proc files beneath its private procfs only', async (t) => {
  const n = native();
  const fd = n.openProcFile(`${process.pid}/oom_score_adj`, fsc.O_RDONLY);
  t.ok(fd >= 0, "its own pid's file opens");
  t.match(readFileSync(fd, 'utf8'), /^-?\d+\n$/, 'and reads as oom_score_adj');
  n.close(fd);
  const code = (f: () => unknown) => {
    try {
      f();
      return 'opened';
    } catch (e) {
      return (e as NodeJS.ErrnoException).code;
    }
  };
  t.equal(
    code(() => n.openProcFile('self/oom_score_adj', fsc.O_RDONLY)),
    'ELOOP',
    'no symlink is followed (/proc/self)',
  );
  t.equal(
    code(() => n.openProcFile('1/../../etc/passwd', fsc.O_RDONLY)),
    'EXDEV',
    'nothing outside the procfs',
  );
  t.throws(() => n.openProcFile('/etc/passwd', fsc.O_RDONLY), /relative to \/proc/, 'an absolute path is refused');
});

t.test('ids above 2^31-1 are refused: (uid_t)-1 would leave the process root', async (t) => {
  const root = stateRoot(t);
  const cases: Array<[string, (s: Spec) => void, RegExp]> = [
    [
      'process.user.uid',
      (s) => {
        s.process!.user.uid = 4294967295;
      },
      /^process\.user\.uid: must be an id in 0\.\.2147483647, got 4294967295$/m,
    ],
    [
      'process.user.gid',
      (s) => {
        s.process!.user.gid = 4294967295;
      },
      /^process\.user\.gid: must be an id in 0\.\.2147483647, got 4294967295$/m,
    ],
    [
      'process.user.additionalGids',
      (s) => {
        s.process!.user.additionalGids = [4294967295];
      },
      /^process\.user\.additionalGids\[0\]: must be an id in 0\.\.2147483647/m,
    ],
    [
      'linux.uidMappings',
      (s) => {
        s.linux!.namespaces!.push({ type: 'user' });
        s.linux!.uidMappings = [{ containerID: 0, hostID: 2147483647, size: 2 }];
        s.linux!.gidMappings = [{ containerID: 0, hostID: 0, size: 1 }];
      },
      /^linux\.uidMappings\[0\]\.size: hostID 2147483647 \+ size 2 goes past 2147483647/m,
    ],
  ];
  for (const [field, patch, expected] of cases) {
    const r = root.run(makeBundle(t, 'id -u; id -g', patch));
    t.not(r.code, 0, `${field}: refused (${r.stdout.trim().replace(/\n/g, ' ')})`);
    t.match(errorLines(r).join('\n'), expected, field);
    t.same(leftovers(root.path, r.id), [], `${field}: nothing left behind`);
  }

  // exec -u into a running container.
  const b = makeBundle(t, 'sleep 60');
  const c = root.create(b);
  t.equal(c.code, 0, describe(c));
  const e = root.runt(['exec', '-u', '4294967295', c.id, 'id', '-u']);
  t.not(e.code, 0, `exec -u 4294967295 refused (${e.stdout.trim()})`);
  t.match(errorLines(e).join('\n'), /--user "4294967295": uid 4294967295 is outside 0\.\.2147483647/);
  const g = root.runt(['exec', '-u', '0:4294967295', c.id, 'id', '-g']);
  t.not(g.code, 0, `exec -u 0:4294967295 refused (${g.stdout.trim()})`);
});

t.test('a mount on the root, or on a link to it, is refused instead of dropped', async (t) => {
  const root = stateRoot(t);
  const onRoot = root.run(
    makeBundle(t, 'true', (s) => {
      s.mounts!.push({ destination: '/', type: 'tmpfs', source: 'tmpfs' });
    }),
  );
  t.not(onRoot.code, 0, 'tmpfs on / refused');
  t.match(errorLines(onRoot).join('\n'), /^mounts\[\d+\]\.destination: a mount on the container's root \("\/"\) is not allowed/m);

  const dotted = root.run(
    makeBundle(t, 'true', (s) => {
      s.mounts!.push({ destination: '/tmp/..', type: 'tmpfs', source: 'tmpfs' });
    }),
  );
  t.not(dotted.code, 0, 'tmpfs on /tmp/.. refused');

  const viaLink = root.run(
    makeBundle(t, 'true', (s, b) => {
      symlinkSync('/', join(b.rootfs, 'toroot'));
      s.mounts!.push({ destination: '/toroot', type: 'tmpfs', source: 'tmpfs' });
    }),
  );
  t.not(viaLink.code, 0, 'tmpfs on a link to / refused');
  t.match(
    errorLines(viaLink).join('\n'),
    /^mounts\[\d+\]\.destination: a mount on the container's root .*\(\/toroot resolves to \/ in the rootfs\)/m,
  );
  t.same(leftovers(root.path, viaLink.id), []);
});

t.test('a config nested too deep is refused by name, not by a stack overflow', async (t) => {
  const root = stateRoot(t);
  const b = makeBundle(t, 'true');
  const depth = 5000;
  const text = readFileSync(b.configPath, 'utf8').replace(/^\{/, `{"x-unknown": {"deep": ${'['.repeat(depth)}${']'.repeat(depth)}},`);
  writeFileSync(b.configPath, text);
  const r = root.run(b);
  t.not(r.code, 0, 'refused');
  t.match(
    errorLines(r).join('\n'),
    /^config\.json: nested more than 1000 levels deep at line 1 column \d+ \(under \["x-unknown"\]\.deep\[0\]\[0\]\.\.\.\)/m,
  );
  t.notMatch(r.stderr, /Maximum call stack/);
  t.same(leftovers(root.path, r.id), []);

  // 900 levels are fine.
  const ok = makeBundle(t, 'true');
  writeFileSync(ok.configPath, readFileSync(ok.configPath, 'utf8').replace(/^\{/, `{"x-unknown": ${'['.repeat(900)}${']'.repeat(900)},`));
  const r2 = root.run(ok);
  t.equal(r2.code, 0, describe(r2));
});

t.test('a hook timeout the runtime cannot honour is refused by name', async (t) => {
  const root = stateRoot(t);
  for (const timeout of [2147484, 1.5]) {
    // (0 and the rest: test/spec.test.ts)
    const r = root.run(
      makeBundle(t, 'true', (s) => {
        s.hooks = { prestart: [{ path: '/bin/true', timeout }] };
      }),
    );
    t.not(r.code, 0, `timeout ${timeout} refused`);
    t.match(
      errorLines(r).join('\n'),
      /^hooks\.prestart\[0\]\.timeout: must be a whole number of seconds in 1\.\.2147483, got /m,
      `timeout ${timeout}`,
    );
    t.notMatch(r.stderr, /TimeoutOverflowWarning/);
  }
  const max = root.run(
    makeBundle(t, 'true', (s) => {
      s.hooks = { prestart: [{ path: '/bin/true', timeout: 2147483 }] };
    }),
  );
  t.equal(max.code, 0, `the longest timeout setTimeout can wait is accepted: ${describe(max)}`);
});
