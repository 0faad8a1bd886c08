// The cgroup layer: layout detection, the v1 driver on this host's real hierarchies, the v2 driver
// on the host's cgroup2 mount and on a fake cgroupfs directory.
import t, { type Test } from 'tap';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { CgroupError } from '../src/errors.js';
import { cgroupBelowMount, createCgroupManager, detectLayout, openCgroupManager, parseMountinfo } from '../src/cgroups/index.js';
import type { CgroupManager } from '../src/cgroups/index.js';

const HYBRID = `31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct
34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw,nsdelegate
`;
const V1 = HYBRID.split('\n')
  .filter((l) => !l.includes('cgroup2'))
  .join('\n');
const V2 = `25 23 0:22 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot
`;

t.test('layout detection from mountinfo', async (t) => {
  const h = parseMountinfo(HYBRID);
  t.equal(h.kind, 'hybrid');
  t.same(
    h.v1.map((x) => [x.name, x.subsystems]),
    [
      ['cpu,cpuacct', ['cpu', 'cpuacct']],
      ['cpuset', ['cpuset']],
      ['memory', ['memory']],
      ['systemd', ['name=systemd']],
    ],
  );
  t.same(h.unified, { mountpoint: '/sys/fs/cgroup/unified', root: '/' });
  t.equal(parseMountinfo(V1).kind, 'v1');
  t.equal(parseMountinfo(V1).unified, undefined);
  const v2 = parseMountinfo(V2);
  t.equal(v2.kind, 'v2');
  t.same(v2.v1, []);
  t.equal(v2.unified?.mountpoint, '/sys/fs/cgroup');
  t.throws(() => parseMountinfo('22 1 8:1 / / rw - ext4 /dev/sda1 rw'), CgroupError);
  // The same hierarchy mounted twice counts once.
  t.equal(parseMountinfo(`${V1}\n99 1 0:32 / /mnt/mem rw - cgroup cgroup rw,memory`).v1.length, 4);
  const real = detectLayout();
  t.equal(real.kind, 'hybrid', 'this host is hybrid (see field notes)');
  t.ok(real.v1.find((x) => x.name === 'freezer'));
});

t.test('where the container cgroup goes', async (t) => {
  t.equal(cgroupBelowMount('/runt/a', '/user.slice', '/'), '/runt/a');
  t.equal(cgroupBelowMount('runt/a', '/user.slice', '/'), '/user.slice/runt/a');
  t.equal(cgroupBelowMount('runt/a', '/ns/inner', '/ns'), '/inner/runt/a');
  t.equal(cgroupBelowMount('../../x', '/a', '/'), '/a/x', 'a relative path never climbs above the own cgroup');
  t.equal(cgroupBelowMount('/../x', '/a', '/'), '/x', 'never above the hierarchy root');
  const m = createCgroupManager({ id: 'c1', mountinfo: HYBRID });
  t.same(m.paths, {
    'cpu,cpuacct': '/sys/fs/cgroup/cpu,cpuacct/runt/c1',
    cpuset: '/sys/fs/cgroup/cpuset/runt/c1',
    memory: '/sys/fs/cgroup/memory/runt/c1',
    systemd: '/sys/fs/cgroup/systemd/runt/c1',
    unified: '/sys/fs/cgroup/unified/runt/c1',
  });
  const rel = createCgroupManager({
    id: 'c1',
    cgroupsPath: 'sub/c1',
    mountinfo: HYBRID,
    selfCgroup: '4:memory:/process_api/x\n3:cpuset:/\n1:cpu,cpuacct:/\n9:name=systemd:/s\n0::/u\n',
  });
  t.equal(rel.paths.memory, '/sys/fs/cgroup/memory/process_api/x/sub/c1');
  t.equal(rel.paths.systemd, '/sys/fs/cgroup/systemd/s/sub/c1');
  t.equal(rel.paths.unified, '/sys/fs/cgroup/unified/u/sub/c1');
  t.same(m.mountSources(), [
    { name: 'cpu,cpuacct', fstype: 'cgroup', data: 'cpu,cpuacct', hostDir: '/sys/fs/cgroup/cpu,cpuacct/runt/c1' },
    { name: 'cpuset', fstype: 'cgroup', data: 'cpuset', hostDir: '/sys/fs/cgroup/cpuset/runt/c1' },
    { name: 'memory', fstype: 'cgroup', data: 'memory', hostDir: '/sys/fs/cgroup/memory/runt/c1' },
    { name: 'systemd', fstype: 'cgroup', data: 'none,name=systemd', hostDir: '/sys/fs/cgroup/systemd/runt/c1' },
    { name: 'unified', fstype: 'cgroup2', data: '', hostDir: '/sys/fs/cgroup/unified/runt/c1' },
  ]);
  const v2 = createCgroupManager({ id: 'c1', mountinfo: V2 });
  t.equal(v2.kind, 'v2');
  t.same(v2.mountSources(), [{ name: '', fstype: 'cgroup2', data: '', hostDir: '/sys/fs/cgroup/runt/c1' }]);
  t.throws(() => createCgroupManager({ id: 'x', cgroupsPath: '/', mountinfo: V2 }), /linux.cgroupsPath/);
});

let serial = 0;
const uniquePath = () => `/runt-test-${process.pid}-${++serial}`;

function startSleeper(t: Test): ChildProcess {
  const child = spawn('sleep', ['300'], { stdio: 'ignore' });
  t.teardown(() => {
    child.kill('SIGKILL');
  });
  return child;
}

function procState(pid: number): string {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
}

async function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  await new Promise((resolve) => child.once('exit', resolve));
}

/** Make sure a manager's directories are gone after the test, whatever happened: the processes in
 *  it are the test's own children. */
function cleanup(t: Test, m: CgroupManager): void {
  t.teardown(async () => {
    try {
      if (m.isFrozen()) m.thaw();
      for (const pid of m.pids()) process.kill(pid, 'SIGKILL');
      for (let i = 0; i < 200 && m.pids().length; i++) await new Promise((r) => setTimeout(r, 10));
      m.destroy();
    } catch {
      /* reported by the test itself */
    }
  });
}

t.test('v1 driver on the real hierarchies', async (t) => {
  const m = createCgroupManager({ id: 'x', cgroupsPath: uniquePath() });
  cleanup(t, m);
  t.equal(m.kind, 'hybrid');
  m.create();
  for (const dir of Object.values(m.paths)) t.ok(existsSync(dir), `created ${dir}`);
  const cpuset = m.paths.cpuset;
  t.not(readFileSync(join(cpuset, 'cpuset.cpus'), 'utf8').trim(), '', 'cpuset.cpus copied from the parent');

  const child = startSleeper(t);
  const pid = child.pid!;
  m.join(pid);
  t.same(m.pids(), [pid]);
  for (const [name, dir] of Object.entries(m.paths)) {
    t.match(readFileSync(join(dir, 'cgroup.procs'), 'utf8'), String(pid), `${name} lists the pid`);
  }
  t.throws(
    () => createCgroupManager({ id: 'x', cgroupsPath: Object.values(m.paths)[0].replace(/^\/sys\/fs\/cgroup\/[^/]+/, '') }).create(),
    /already exists and holds processes/,
  );

  t.notOk(m.isFrozen());
  m.freeze();
  t.ok(m.isFrozen());
  t.equal(readFileSync(join(m.paths.freezer, 'freezer.state'), 'utf8').trim(), 'FROZEN');
  t.match(procState(pid), /^[DS]$/, 'a frozen task sleeps in the kernel');
  m.thaw();
  t.notOk(m.isFrozen());

  // A re-opened manager (from the state file's paths) sees the same cgroup.
  const reopened = openCgroupManager(JSON.parse(JSON.stringify(m.paths)));
  t.equal(reopened.kind, 'hybrid');
  t.same(reopened.pids(), [pid]);
  t.same(reopened.mountSources(), m.mountSources());

  child.kill('SIGKILL');
  await exited(child);
  reopened.destroy();
  for (const dir of Object.values(m.paths)) t.notOk(existsSync(dir), `removed ${dir}`);
});

t.test('v1 destroy removes nested cgroups', async (t) => {
  const m = createCgroupManager({ id: 'x', cgroupsPath: `${uniquePath()}/inner` });
  const parents = openCgroupManager(Object.fromEntries(Object.entries(m.paths).map(([k, v]) => [k, dirname(v)])));
  cleanup(t, parents);
  m.create();
  mkdirSync(join(m.paths.memory, 'child'));
  m.destroy();
  for (const dir of Object.values(m.paths)) t.notOk(existsSync(dir), `removed ${dir}`);
  parents.destroy();
  for (const dir of Object.values(parents.paths)) t.notOk(existsSync(dir), `removed ${dir}`);
});

t.test('v1 create makes missing levels and fills every new cpuset level', async (t) => {
  const top = uniquePath();
  const m = createCgroupManager({ id: 'x', cgroupsPath: `${top}/a/b` });
  const parents = (up: number) =>
    openCgroupManager(
      Object.fromEntries(
        Object.entries(m.paths).map(([k, v]) => {
          for (let i = 0; i < up; i++) v = dirname(v);
          return [k, v];
        }),
      ),
    );
  cleanup(t, parents(2));
  m.create();
  for (const dir of Object.values(m.paths)) t.ok(existsSync(dir), `created ${dir}`);
  for (const dir of [m.paths.cpuset, dirname(m.paths.cpuset), dirname(dirname(m.paths.cpuset))]) {
    for (const f of ['cpuset.cpus', 'cpuset.mems']) t.not(readFileSync(join(dir, f), 'utf8').trim(), '', `${f} filled in ${dir}`);
  }
  // An existing, empty cgroup is taken as it is.
  m.create();
  m.destroy();
  parents(1).destroy();
});

t.test('v1 removeIfEmpty: one rmdir per hierarchy, refused while a process or a child cgroup is left', async (t) => {
  const m = createCgroupManager({ id: 'x', cgroupsPath: uniquePath() });
  cleanup(t, m);
  m.create();
  const child = startSleeper(t);
  m.join(child.pid!);
  t.equal(m.removeIfEmpty(), false, 'busy while the process is in it');
  t.ok(
    Object.values(m.paths)
      .slice(1)
      .every((d) => existsSync(d)),
    'the other hierarchies are left alone',
  );
  child.kill('SIGKILL');
  await exited(child);

  mkdirSync(join(m.paths.memory, 'child'));
  t.equal(m.removeIfEmpty(), false, 'busy while a child cgroup is left');
  rmdirSync(join(m.paths.memory, 'child'));
  t.equal(m.removeIfEmpty(), true);
  for (const dir of Object.values(m.paths)) t.notOk(existsSync(dir), `removed ${dir}`);
  t.equal(m.removeIfEmpty(), true, 'already gone counts as removed');
});

/** A v2 layout rooted at a cgroup the test makes in this host's cgroup2 mount, so that create()
 *  enables controllers only there and never in the host's own cgroups. */
function unifiedBase(t: Test): string {
  const base = `/sys/fs/cgroup/unified/runt-test-${process.pid}-base`;
  mkdirSync(base);
  t.teardown(() => {
    // Runs before the manager's own cleanup when the test failed early: remove what is left.
    for (const e of readdirSync(base, { withFileTypes: true })) if (e.isDirectory()) rmdirSync(join(base, e.name));
    rmdirSync(base);
  });
  return `41 31 0:38 / ${base} rw,relatime - cgroup2 cgroup2 rw\n`;
}

t.test('v2 driver on the real cgroup2 mount', async (t) => {
  const rootSubtree = readFileSync('/sys/fs/cgroup/unified/cgroup.subtree_control', 'utf8');
  const mountinfo = unifiedBase(t);
  const m = createCgroupManager({ id: 'x', cgroupsPath: uniquePath(), mountinfo });
  cleanup(t, m);
  t.equal(m.kind, 'v2');
  m.create();
  const dir = m.paths[''];
  t.ok(existsSync(join(dir, 'cgroup.procs')));
  const child = startSleeper(t);
  const pid = child.pid!;
  m.join(pid);
  t.same(m.pids(), [pid]);
  m.freeze();
  t.ok(m.isFrozen());
  t.match(procState(pid), /^[DS]$/);
  m.thaw();
  t.notOk(m.isFrozen());
  const reopened = openCgroupManager(m.paths, { mountinfo });
  t.same(reopened.pids(), [pid]);
  child.kill('SIGKILL');
  await exited(child);
  m.destroy();
  t.notOk(existsSync(dir));
  t.equal(readFileSync('/sys/fs/cgroup/unified/cgroup.subtree_control', 'utf8'), rootSubtree, 'the host root is untouched');
});

/** A directory laid out like a cgroup v2 mount: cgroup.controllers and subtree_control at each level. */
function fakeV2(t: Test, controllers = 'cpuset cpu io memory hugetlb pids rdma misc'): string {
  const root = mkdtempSync(join(tmpdir(), 'runt-cg2-'));
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  writeFileSync(join(root, 'cgroup.controllers'), `${controllers}\n`);
  writeFileSync(join(root, 'cgroup.subtree_control'), '');
  writeFileSync(join(root, 'cgroup.procs'), '');
  return root;
}

t.test('v2 driver against a fake cgroupfs', async (t) => {
  const root = fakeV2(t);
  const m = createCgroupManager({ id: 'c', mountRoot: root });
  t.equal(m.kind, 'v2');
  t.equal(m.paths[''], join(root, 'runt/c'));
  // The fake files are plain files: create() writes "+ctrl" each time, so the last one remains.
  m.create();
  t.ok(existsSync(join(root, 'runt/c')));
  t.equal(readFileSync(join(root, 'cgroup.subtree_control'), 'utf8'), '+misc', 'controllers enabled one at a time');
  writeFileSync(join(root, 'runt/c/cgroup.procs'), '42\n');
  t.same(m.pids(), [42]);
  t.throws(() => m.create(), /holds processes/);
});
