// Every example in examples/ runs (as compiled into dist/examples/), shows what it is about, and
// leaves nothing behind; so do their "what breaks without it" switches.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO } from './helpers/index.js';

function example(name: string, ...args: string[]): { code: number | null; out: string } {
  const file = join(REPO, 'dist/examples', `${name}.js`);
  const env = { ...process.env };
  delete env.NODE_OPTIONS;
  const r = spawnSync(process.execPath, [file, ...args], { encoding: 'utf8', timeout: 60_000, env });
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

/** The value after a `show()` label: "  label ....... value". */
function value(out: string, label: string): string | undefined {
  const line = out.split('\n').find((l) => l.trimStart().startsWith(label));
  return line?.slice(line.indexOf(label) + label.length).trim();
}

function examplesLeftovers(): string[] {
  const tmp = readdirSync(tmpdir())
    .filter((n) => n.startsWith('runt-example-'))
    .map((n) => join(tmpdir(), n));
  const cgroups = readdirSync('/sys/fs/cgroup').flatMap((h) => {
    try {
      return readdirSync(join('/sys/fs/cgroup', h))
        .filter((n) => n.startsWith('runt-example-'))
        .map((n) => join('/sys/fs/cgroup', h, n));
    } catch {
      return [];
    }
  });
  return [...tmp, ...cgroups];
}

t.test('every numbered example exists and is compiled', async (t) => {
  const names = readdirSync(join(REPO, 'examples'))
    .filter((n) => /^\d\d-.*\.ts$/.test(n))
    .map((n) => n.replace(/\.ts$/, ''));
  t.same(names, [
    '01-uts',
    '02-pid',
    '03-mount-proc',
    '04-pivot-root',
    '05-net',
    '06-ipc',
    '07-user',
    '08-cgroups',
    '09-capabilities',
    '10-seccomp',
    '11-container',
    '12-cni-network',
    '13-image',
  ]);
  for (const n of names) t.ok(existsSync(join(REPO, 'dist/examples', `${n}.js`)), `dist/examples/${n}.js`);
});

t.test('01-uts: the hostname differs, the host keeps its own', async (t) => {
  const r = example('01-uts');
  t.equal(r.code, 0, r.out);
  t.equal(value(r.out, 'hostname seen by the child'), 'runt-example-01');
  t.equal(value(r.out, 'hostname of the host, after'), hostname());
  t.not(value(r.out, 'uts namespace of the child'), value(r.out, 'uts namespace of this process'), 'the UTS inode differs');
  const shared = example('01-uts', '--no-namespace');
  t.equal(shared.code, 0, shared.out);
  t.equal(
    value(shared.out, 'uts namespace of the child'),
    value(shared.out, 'uts namespace of this process'),
    '--no-namespace: same inode',
  );
  t.equal(value(shared.out, 'hostname seen by the child'), hostname());
});

t.test('02-pid: pid 1 inside, and the zombie a non-reaping init keeps', async (t) => {
  const r = example('02-pid');
  t.equal(r.code, 0, r.out);
  t.match(r.out, /inside, my pid is 1\n/);
  t.match(value(r.out, "the child's NSpid (host, inside)"), /^\d+ 1$/, 'NSpid: host pid, then 1');
  t.match(r.out, /^\s+\d+\s+1\s+\d+\s+S \(sleeping\)\s+busybox sleep 1$/m, 'PID 1 is sleep');
  t.match(r.out, /^\s+\d+\s+\d+\s+\d+\s+Z \(zombie\)/m, 'an orphan left as a zombie');
  const reaping = example('02-pid', '--reaping-init');
  t.equal(reaping.code, 0, reaping.out);
  t.notMatch(reaping.out, /Z \(zombie\)/, '--reaping-init: no zombie');
});

t.test('03-mount-proc: its own /proc, so ps sees only the container', async (t) => {
  const r = example('03-mount-proc');
  t.equal(r.code, 0, r.out);
  const host = /host {2}\/proc +(\d+) \d+ (\d+:\d+)/.exec(r.out);
  const child = /child \/proc +(\d+) \d+ (\d+:\d+)/.exec(r.out);
  t.ok(host && child && host[2] !== child[2], 'a different procfs (device) on /proc');
  t.equal(value(r.out, 'propagation of "/" in the child'), 'private');
  const count = Number(/\((\d+) processes\)/.exec(r.out)?.[1]);
  t.ok(count > 0 && count < 5, `ps sees ${count} processes`);
  const skipped = example('03-mount-proc', '--skip-proc');
  t.equal(skipped.code, 0, skipped.out);
  t.ok(Number(/\((\d+) processes\)/.exec(skipped.out)?.[1]) > 20, "--skip-proc: the host's processes");
});

t.test("04-pivot-root: the image is /, the host's mounts are gone", async (t) => {
  const r = example('04-pivot-root');
  t.equal(r.code, 0, r.out);
  t.match(r.out, /\/ holds: bin dev etc .*proc .*sbin/);
  t.match(r.out, /^\s+2 mounts:/m, 'the rootfs and its /proc only');
  const skipBind = example('04-pivot-root', '--skip-bind');
  t.equal(skipBind.code, 0, skipBind.out);
  t.match(value(skipBind.out, 'failed step'), /pivotRoot: pivot_root: (EBUSY|EINVAL)/, 'pivot_root refuses a plain directory');
  t.match(value(skipBind.out, 'hint (src/plan/hints.ts)'), /mount point/, 'with the hint');
  const noPivot = example('04-pivot-root', '--no-pivot');
  t.equal(noPivot.code, 0, noPivot.out);
  t.match(noPivot.out, /MS_MOVE \+ chroot/);
  t.equal(value(noPivot.out, 'exit status'), '0');
});

t.test('05-net: only a loopback interface', async (t) => {
  const r = example('05-net');
  t.equal(r.code, 0, r.out);
  t.not(value(r.out, 'net namespace of the child'), value(r.out, 'net namespace of this process'));
  t.match(r.out, /interfaces: lo \n/, 'only lo');
  t.match(r.out, /1: lo: <LOOPBACK> /, 'and it is down');
  t.match(r.out, /1 packets transmitted, 1 packets received/, 'loopback works once up');
  const shared = example('05-net', '--no-namespace');
  t.equal(shared.code, 0, shared.out);
  t.match(shared.out, /interfaces: (\S+ ){2,}/, "--no-namespace: the host's interfaces");
});

t.test('06-ipc: a queue and a limit of its own', async (t) => {
  const r = example('06-ipc');
  t.equal(r.code, 0, r.out);
  const [first, rest] = r.out.split('a second child');
  const second = rest.split('kernel.msgmax of the host')[0];
  t.match(first, /kernel\.msgmax: 4096/);
  t.match(first, /queues: runt-example-06/);
  t.notMatch(second, /runt-example-06/, "the host's IPC namespace does not have the queue");
  t.equal(value(r.out, 'kernel.msgmax of the host, after'), value(r.out, 'kernel.msgmax of the host, before'));
});

t.test('07-user: root inside, uid 100000 outside', async (t) => {
  const r = example('07-user');
  t.equal(r.code, 0, r.out);
  t.match(r.out, /uid=0\(root\) gid=0\(root\)/);
  t.match(r.out, /uid_map: +0 +100000 +65536/);
  t.equal(value(r.out, 'Uid (real, effective, saved, fs)'), '100000 100000 100000 100000');
  t.equal(value(r.out, 'owner of made-inside on the host'), 'uid 100000');
  t.match(r.out, /cannot read the host root's 0600 file/);
  const noMap = example('07-user', '--no-map');
  t.equal(noMap.code, 0, noMap.out);
  t.match(value(noMap.out, 'failed step'), /setgroups: .*EPERM/);
  t.match(value(noMap.out, 'hint (src/plan/hints.ts)'), /gid map/);
});

t.test('08-cgroups: fork fails at pids.max, the OOM killer at the memory limit', async (t) => {
  const r = example('08-cgroups');
  t.equal(r.code, 0, r.out);
  const started = Number(/started (\d+) of 16 processes/.exec(r.out)?.[1]);
  t.ok(started > 0 && started < 16, `${started} of 16 started`);
  t.match(r.out, /dd exit status 137 \(killed by SIGKILL\)/);
  t.equal(value(r.out, 'pids.max'), '8');
  t.match(r.out, /oom_kill 1/, 'the kernel counted one OOM kill');
  const free = example('08-cgroups', '--no-limits');
  t.equal(free.code, 0, free.out);
  t.match(free.out, /started 16 of 16 processes/);
  t.match(free.out, /dd exit status 0/);
});

t.test('09-capabilities: root without CAP_CHOWN cannot chown', async (t) => {
  const r = example('09-capabilities');
  t.equal(r.code, 0, r.out);
  t.equal(value(r.out, 'CapEff by name'), 'CAP_KILL, CAP_NET_BIND_SERVICE, CAP_AUDIT_WRITE');
  t.match(r.out, /uid: 0\n/);
  t.match(r.out, /chown: Operation not permitted/);
  t.match(r.out, /read uid 1000's 0600 file: Permission denied/);
  const keep = example('09-capabilities', '--keep-chown');
  t.match(keep.out, /chown: done/);
  t.equal(value(keep.out, 'owner of the file now'), 'uid 1');
});

t.test('10-seccomp: an errno and a kill from the filter', async (t) => {
  const r = example('10-seccomp');
  t.equal(r.code, 0, r.out);
  t.match(r.out, /Seccomp:\s+2/);
  t.match(r.out, /mkdir: can't create directory .*: Operation not permitted/);
  t.match(r.out, /sync exit status: 159/);
  const off = example('10-seccomp', '--no-filter');
  t.match(off.out, /Seccomp:\s+0/);
  t.match(off.out, /mkdir: done/);
  t.match(off.out, /sync exit status: 0/);
});

t.test('11-container: the busybox bundle, its plan and its trace', async (t) => {
  const r = example('11-container');
  t.equal(r.code, 0, r.out);
  t.match(r.out, /Hello from runt: hostname=runt-demo pid=1/);
  t.equal(value(r.out, 'trace == plan (index, op, field)'), 'yes');
  t.match(r.out, /#\d+ +\d+us +root\.path +pivot_root\("\.", "\."\)/, 'the pivot_root step in the trace');
  const plan = example('11-container', '--plan');
  t.equal(plan.code, 0);
  t.match(plan.out, /^── the container init, after pivot_root/m);
});

t.test('12-cni-network: veth, bridge, IPAM and NAT with the real plugins, in namespaces of its own', async (t) => {
  const missing =
    ['unshare', 'ip', 'iptables-save'].find((c) => spawnSync(c, ['--help'], { stdio: 'ignore' }).error) ??
    ['bridge', 'host-local', 'portmap', 'firewall', 'tuning'].find((p) => !existsSync(`/usr/lib/cni/${p}`));
  if (missing) return t.skip(`needs ${missing} (iproute2, iptables, containernetworking-plugins)`, () => {});
  const r = example('12-cni-network');
  t.equal(r.code, 0, r.out);
  t.match(r.out, /cni ADD bridge/);
  t.match(r.out, /GET http:\/\/10\.89\.99\.\d+\/ +hello from runt-demo/, 'the container answers on its address');
  t.match(r.out, /\(published\) hello from runt-demo/, 'and on the published port');
  t.equal(value(r.out, 'leases left'), '(none)');
  t.equal(value(r.out, 'veths on the bridge'), '(none)');
  t.equal(value(r.out, 'NAT rules naming the container'), '0');
});

t.test('the examples leave nothing behind', async (t) => {
  t.same(examplesLeftovers(), []);
});

t.test('13-image: layers, whiteouts and an opaque directory in snapshots, a container on their overlay', async (t) => {
  const r = example('13-image');
  t.equal(r.code, 0, r.out);
  t.match(r.out, /linuxrc \(whiteout: a 0:0 char device\)/);
  t.match(r.out, /home\/ \(opaque\)/);
  t.match(r.out, /hello from layer 2\nonly-this\nls: \/linuxrc: No such file or directory/);
  t.match(r.out, /container directory after delete\s+gone/);
});
