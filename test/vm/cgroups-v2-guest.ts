// Runs inside the QEMU guest of cgroups-v2-vm.test.ts, as one Node process: runt's library runs the
// containers and every value is read back from the kernel's own cgroup v2 files. The results go
// out through ./guest-results.ts; the host test asserts each of them.
//
// The host transpiles this file (TypeScript's transpileModule) and points the imports at the
// checkout's dist/ shared over 9p: it runs the compiled library, exactly what users load.
import { spawn } from 'node:child_process';
import { chownSync, closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Runtime, type Container } from '../../src/runtime.js';
import { native } from '../../src/native.js';
import { defaultSpec } from '../../src/spec/default.js';
import type { Resources, Spec } from '../../src/spec/types.js';
import { check, finish, group, runGroups } from './guest-results.js';

const ROOTFS = process.env.ROOTFS ?? '/tmp/rootfs';
const CG = '/sys/fs/cgroup';
const MiB = 1024 * 1024;

const read = (cgroup: string, file: string) => readFileSync(join(CG, cgroup, file), 'utf8').trim();
const tryRead = (cgroup: string, file: string) => (existsSync(join(CG, cgroup, file)) ? read(cgroup, file) : undefined);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Every cgroup directory below the mount, relative ("" is the root). */
function cgroupTree(dir = CG, rel = ''): string[] {
  const out = [rel];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.isDirectory()) out.push(...cgroupTree(join(dir, e.name), `${rel}/${e.name}`));
  }
  return out;
}

function spec(args: string, cgroupsPath: string, resources: Resources = {}, patch?: (s: Spec) => void): Spec {
  const s = defaultSpec();
  s.root = { path: ROOTFS, readonly: true };
  s.process!.terminal = false;
  s.process!.args = ['sh', '-c', args];
  s.linux!.cgroupsPath = cgroupsPath;
  s.linux!.resources = { ...s.linux!.resources, ...resources };
  patch?.(s);
  return s;
}

/** Lines of a container's stdout as they come. */
function lines(c: { stdout: NodeJS.ReadableStream | null }): () => Promise<string> {
  let buf = '';
  const waiting: Array<(l: string) => void> = [];
  const ready: string[] = [];
  c.stdout!.setEncoding('utf8');
  c.stdout!.on('data', (d: string) => {
    buf += d;
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const l = buf.slice(0, i);
      buf = buf.slice(i + 1);
      const w = waiting.shift();
      if (w) w(l);
      else ready.push(l);
    }
  });
  return () => (ready.length ? Promise.resolve(ready.shift()!) : new Promise((r) => waiting.push(r)));
}

function devicePrograms(cgroup: string): number {
  const fd = openSync(join(CG, cgroup), 'r');
  try {
    return native().queryDeviceFilters(fd);
  } finally {
    closeSync(fd);
  }
}

async function until(what: string, pred: () => boolean, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

const rt = new Runtime({ root: '/run/runt' });
const [major, minor] = readFileSync('/sys/block/vda/dev', 'utf8').trim().split(':').map(Number);
const before = new Set(cgroupTree());

group('resources', async () => {
  const resources: Resources = {
    memory: { limit: 64 * MiB, reservation: 16 * MiB, swap: 96 * MiB },
    cpu: { shares: 2048, quota: 50_000, period: 100_000, burst: 10_000, cpus: '0', mems: '0', idle: 0 },
    pids: { limit: 50 },
    blockIO: {
      weight: 500,
      throttleReadBpsDevice: [{ major, minor, rate: MiB }],
      throttleWriteIOPSDevice: [{ major, minor, rate: 100 }],
    },
    hugepageLimits: [{ pageSize: '2MB', limit: 4 * 2 * MiB }],
    unified: { 'memory.high': String(48 * MiB) },
  };
  const c = await rt.create('res', spec('exec sleep 1000', '/runt-vm/res', resources), { stdio: 'ignore' });
  await c.start();
  const g = 'runt-vm/res';
  check('resources: the cgroup has every controller', read(g, 'cgroup.controllers').split(' ').sort(), [
    'cpu',
    'cpuset',
    'hugetlb',
    'io',
    'memory',
    'misc',
    'pids',
    'rdma',
  ]);
  check('resources: cgroup.procs holds the init', read(g, 'cgroup.procs'), String(c.pid));
  check('memory.limit -> memory.max', read(g, 'memory.max'), String(64 * MiB));
  check('memory.reservation -> memory.low', read(g, 'memory.low'), String(16 * MiB));
  check('memory.swap (memory+swap) -> memory.swap.max', read(g, 'memory.swap.max'), String(32 * MiB));
  check('unified memory.high -> memory.high', read(g, 'memory.high'), String(48 * MiB));
  check('pids.limit -> pids.max', read(g, 'pids.max'), '50');
  check('cpu.shares 2048 -> cpu.weight', read(g, 'cpu.weight'), '79');
  check('cpu.quota/period -> cpu.max', read(g, 'cpu.max'), '50000 100000');
  check('cpu.burst -> cpu.max.burst', read(g, 'cpu.max.burst'), '10000');
  check('cpu.idle 0 -> cpu.idle', read(g, 'cpu.idle'), '0');
  check('cpu.cpus -> cpuset.cpus', read(g, 'cpuset.cpus'), '0');
  check('cpu.mems -> cpuset.mems', read(g, 'cpuset.mems'), '0');
  check('blockIO.weight 500 -> io.weight', read(g, 'io.weight').split('\n')[0], 'default 4950');
  check('blockIO throttles -> io.max', read(g, 'io.max'), `${major}:${minor} rbps=${MiB} wbps=max riops=max wiops=100`);
  check('hugepageLimits 2MB -> hugetlb.2MB.max', read(g, 'hugetlb.2MB.max'), String(8 * MiB));
  check('hugepageLimits 2MB -> hugetlb.2MB.rsvd.max', read(g, 'hugetlb.2MB.rsvd.max'), String(8 * MiB));

  // update: new values land in the same files; fields not given keep theirs.
  c.update({ memory: { limit: 128 * MiB, swap: 192 * MiB }, pids: { limit: 80 }, cpu: { quota: 20_000 } });
  check('update: memory.max', read(g, 'memory.max'), String(128 * MiB));
  check('update: memory.swap.max', read(g, 'memory.swap.max'), String(64 * MiB));
  check('update: pids.max', read(g, 'pids.max'), '80');
  check('update: cpu.max keeps the period', read(g, 'cpu.max'), '20000 100000');
  check('update: memory.low kept', read(g, 'memory.low'), String(16 * MiB));
  // A per-device io.weight needs the io cost model on for the device: without it the kernel refuses.
  let weightError = '';
  try {
    c.update({ blockIO: { weightDevice: [{ major, minor, weight: 200 }] } });
  } catch (e) {
    weightError = (e as Error).message;
  }
  check(
    'blockIO.weightDevice without iocost: an error naming the field and the cause',
    /^linux\.resources\.blockIO\.weightDevice\[0\]\.weight: .*io\.cost\.qos/.test(weightError) ? 'names both' : weightError,
    'names both',
  );
  writeFileSync(join(CG, 'io.cost.qos'), `${major}:${minor} enable=1`);
  c.update({ blockIO: { weightDevice: [{ major, minor, weight: 200 }] } });
  check('blockIO.weightDevice (iocost on) -> io.weight', read(g, 'io.weight').split('\n').slice(1), [`${major}:${minor} 1920`]);

  // rdma: the guest has no RDMA device; the kernel refuses the name and runt says which field.
  let rdmaError = '';
  try {
    c.update({ rdma: { mlx5_0: { hcaHandles: 2 } } });
  } catch (e) {
    rdmaError = (e as Error).message;
  }
  check(
    'rdma for a missing device: an error naming the field',
    /linux\.resources\.rdma\.mlx5_0/.test(rdmaError) ? 'names linux.resources.rdma.mlx5_0' : rdmaError,
    'names linux.resources.rdma.mlx5_0',
  );

  // freeze and thaw through cgroup.freeze; the kernel confirms in cgroup.events.
  c.pause();
  check('pause: cgroup.freeze', read(g, 'cgroup.freeze'), '1');
  check('pause: cgroup.events frozen', /^frozen 1$/m.test(read(g, 'cgroup.events')), true);
  check('pause: state', c.state().status, 'paused');
  c.resume();
  check('resume: cgroup.events frozen', /^frozen 0$/m.test(read(g, 'cgroup.events')), true);
  check('resume: state', c.state().status, 'running');

  const st = c.stats() as {
    pids: { current: number; limit: number };
    memory: { usage: { usage: number; limit: number } };
    cpu: { usage: { total: number } };
  };
  check('stats: pids', st.pids, { current: 1, limit: 80 });
  check('stats: memory limit', st.memory.usage.limit, 128 * MiB);
  check('stats: memory usage is memory.current', st.memory.usage.usage > 0, true);
  check('stats: cpu usage counted', st.cpu.usage.total > 0, true);

  c.kill('SIGKILL');
  await c.wait();
  await c.delete();
  check('delete: the cgroup is gone', existsSync(join(CG, g)), false);
});

group('cpu.idle', async () => {
  const c = await rt.create('idle', spec('exec sleep 1000', '/runt-vm/idle', { cpu: { idle: 1 } }), { stdio: 'ignore' });
  check('cpu.idle 1 -> cpu.idle', read('runt-vm/idle', 'cpu.idle'), '1');
  await c.delete({ force: true });
});

group('devices', async () => {
  const probe = `while read cmd; do head -c 1 /dev/vda >/dev/null 2>/tmp/err && echo read-ok || echo "read-denied $(cat /tmp/err)"; done`;
  // The node is bind-mounted from the guest: a node listed in linux.devices would be allowed too
  // (runc appends an rwm rule for each), so only the eBPF program stands between it and a read.
  const s = spec(probe, '/runt-vm/dev', {}, (x) => {
    x.mounts!.push({ destination: '/dev/vda', type: 'bind', source: '/dev/vda', options: ['bind'] });
    x.mounts!.push({ destination: '/tmp', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'nodev'] });
  });
  const c = await rt.create('dev', s, { stdio: ['pipe', 'pipe', 'ignore'] });
  await c.start();
  const next = lines(c);
  const ask = async () => {
    c.stdin!.write('go\n');
    return (await next()).replace(/^(read-denied).*(Operation not permitted).*$/, '$1: $2');
  };
  check('devices: the eBPF program refuses /dev/vda', await ask(), 'read-denied: Operation not permitted');
  check('devices: one program attached', devicePrograms('runt-vm/dev'), 1);
  c.update({
    devices: [
      { allow: false, access: 'rwm' },
      { allow: true, type: 'b', major, minor, access: 'r' },
    ],
  });
  check('devices: after update the read is allowed', await ask(), 'read-ok');
  check('devices: update replaced the program (still one)', devicePrograms('runt-vm/dev'), 1);
  c.update({ devices: [{ allow: false, access: 'rwm' }] });
  check('devices: a second update denies again', await ask(), 'read-denied: Operation not permitted');
  check('devices: still one program', devicePrograms('runt-vm/dev'), 1);
  c.stdin!.end();
  check('devices: init exits when its input ends', await c.wait(), { code: 0, signal: null });
  await c.delete();
});

group('oom', async () => {
  // dd's 64 MiB buffer, filled from /dev/zero, cannot fit in 32 MiB (the guest has no swap).
  const c = await rt.create(
    'oom',
    spec('dd if=/dev/zero of=/dev/null bs=64M count=1', '/runt-vm/oom', { memory: { limit: 32 * MiB, swap: 32 * MiB } }),
    { stdio: 'ignore' },
  );
  const types: string[] = [];
  const events = (async () => {
    for await (const e of c.events()) types.push(e.type);
  })();
  await c.start();
  check('oom: the hog is killed', await c.wait(), { code: null, signal: 'SIGKILL' });
  await events;
  check('oom: memory.events oom_kill', /^oom_kill 1$/m.test(read('runt-vm/oom', 'memory.events')), true);
  check('oom: events() reports oom, then exit', types, ['oom', 'exit']);
  await c.delete();
});

group('pids', async () => {
  // A fork bomb held by pids.max, then kill --all (cgroup.kill) ends every process of it. The bomb runs
  // in a subshell and the init execs sleep: an init that itself met a refused fork could exit (status 2)
  // before the kill, and the test would race it.
  const c = await rt.create('bomb', spec('(f() { f | f & }; f) & exec sleep 1000', '/runt-vm/bomb', { pids: { limit: 16 } }), {
    stdio: 'ignore',
  });
  await c.start();
  const g = 'runt-vm/bomb';
  await until('a refused fork', () => /^max [1-9]/m.test(read(g, 'pids.events')));
  let most = 0;
  for (let i = 0; i < 20; i++) {
    most = Math.max(most, Number(read(g, 'pids.current')));
    await sleep(25);
  }
  check('pids: forks refused (pids.events max > 0)', /^max [1-9]/m.test(read(g, 'pids.events')), true);
  check('pids: never more than pids.max', most <= 16, true);
  c.kill('SIGKILL', { all: true });
  check('kill --all: the init is killed', await c.wait(), { code: null, signal: 'SIGKILL' });
  await until('an empty cgroup', () => read(g, 'cgroup.procs') === '');
  check('kill --all: cgroup.procs is empty', read(g, 'cgroup.procs'), '');
  await c.delete();
  check('kill --all: delete removes the cgroup', existsSync(join(CG, g)), false);
});

group('paths', async () => {
  const nested = await rt.create('nest', spec('exec sleep 1000', '/runt-vm/a/b/c', { pids: { limit: 7 } }), { stdio: 'ignore' });
  check('nested cgroupsPath: pids.max in the leaf', read('runt-vm/a/b/c', 'pids.max'), '7');
  check('nested cgroupsPath: controllers enabled on the way', read('runt-vm/a/b', 'cgroup.subtree_control').includes('pids'), true);
  // Relative: below this process's own cgroup (the guest's root).
  const rel = await rt.create('rel', spec('exec sleep 1000', 'rel/x', { pids: { limit: 9 } }), { stdio: 'ignore' });
  check("relative cgroupsPath: below the caller's cgroup", read('rel/x', 'pids.max'), '9');
  const dflt = await rt.create(
    'dflt',
    spec('exec sleep 1000', '', {}, (x) => {
      delete x.linux!.cgroupsPath;
    }),
    { stdio: 'ignore' },
  );
  check('no cgroupsPath: /runt/<id>', read('runt/dflt', 'cgroup.procs'), String(dflt.pid));
  for (const c of [nested, rel, dflt] as Container[]) await c.delete({ force: true });
  for (const d of ['runt-vm/a/b/c', 'rel/x', 'runt/dflt']) check(`delete: ${d} is gone`, existsSync(join(CG, d)), false);
});

group('bad input', async () => {
  let msg = '';
  try {
    await rt.create('badcpus', spec('true', '/runt-vm/badcpus', { cpu: { cpus: '7' } }), { stdio: 'ignore' });
  } catch (e) {
    msg = (e as Error).message;
  }
  check('a cpuset the guest lacks: error names the field', /linux\.resources\.cpu\.cpus/.test(msg) ? 'names it' : msg, 'names it');
  check('a cpuset the guest lacks: no cgroup left', existsSync(join(CG, 'runt-vm/badcpus')), false);
  check(
    'a cpuset the guest lacks: no state left',
    rt.list().map((x) => x.id),
    [],
  );
  msg = '';
  try {
    await rt.create('badunified', spec('true', '/runt-vm/badunified', { unified: { 'memory.nonexistent': '1' } }), { stdio: 'ignore' });
  } catch (e) {
    msg = (e as Error).message;
  }
  check(
    'an unknown unified key: error names it',
    /linux\.resources\.unified\["memory\.nonexistent"\]/.test(msg) ? 'names it' : msg,
    'names it',
  );
  check('an unknown unified key: no cgroup left', existsSync(join(CG, 'runt-vm/badunified')), false);
});

group('rootless (delegated cgroup)', async () => {
  // As systemd delegates user@UID.service: a cgroup owned by the user, with the files a delegatee
  // writes; the user's runt runs in a leaf of it (moving a process needs write access to the common
  // ancestor's cgroup.procs), and its container goes into another leaf.
  const uid = 1000;
  const top = join(CG, 'user1000');
  writeFileSync(join(CG, 'cgroup.subtree_control'), '+memory +pids');
  mkdirSync(join(top, 'self'), { recursive: true });
  for (const f of ['', 'cgroup.procs', 'cgroup.subtree_control', 'cgroup.threads', 'self', 'self/cgroup.procs'])
    chownSync(join(top, f), uid, uid);
  const xdg = '/tmp/xdg1000';
  mkdirSync(xdg, { mode: 0o700 });
  chownSync(xdg, uid, uid);
  const bundle = '/tmp/rootless-bundle';
  mkdirSync(bundle);
  const s = defaultSpec({ rootless: true });
  s.root = { path: ROOTFS, readonly: true };
  s.process!.terminal = false;
  s.process!.args = ['sh', '-c', 'cat /proc/self/cgroup; sleep 4'];
  s.linux!.uidMappings = [{ containerID: 0, hostID: uid, size: 1 }];
  s.linux!.gidMappings = [{ containerID: 0, hostID: uid, size: 1 }];
  s.linux!.cgroupsPath = '/user1000/c1';
  s.linux!.resources = { memory: { limit: 32 * MiB }, pids: { limit: 20 } };
  writeFileSync(join(bundle, 'config.json'), JSON.stringify(s));
  const child = spawn(
    '/bin/sh',
    [
      '-c',
      `while ! grep -q user1000 /proc/self/cgroup; do sleep 0.1; done; exec ${process.execPath} /mnt/repo/bin/runt.cjs run --bundle ${bundle} rl1`,
    ],
    { uid, gid: uid, env: { PATH: '/bin:/usr/bin', XDG_RUNTIME_DIR: xdg }, stdio: ['ignore', 'pipe', 'pipe'], cwd: '/' },
  );
  writeFileSync(join(top, 'self/cgroup.procs'), String(child.pid));
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => {
    out += d.toString();
  });
  child.stderr!.on('data', (d: Buffer) => {
    err += d.toString();
  });
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  let gone = false;
  void exited.then(() => {
    gone = true;
  });
  await until('the container in user1000/c1 (or runt to end)', () => gone || (tryRead('user1000/c1', 'cgroup.procs') ?? '') !== '', 60_000);
  if (gone) {
    check('rootless: runt run reached the container', { code: await exited, err }, { code: 0, err: '' });
    return;
  }
  check('rootless: memory.max in the delegated cgroup', read('user1000/c1', 'memory.max'), String(32 * MiB));
  check('rootless: pids.max in the delegated cgroup', read('user1000/c1', 'pids.max'), '20');
  check('rootless: runt run exits 0', { code: await exited, err }, { code: 0, err: '' });
  check('rootless: the container was in user1000/c1', out.trim(), '0::/user1000/c1');
  check('rootless: the cgroup is removed', existsSync(join(top, 'c1')), false);
  check('rootless: the state was in $XDG_RUNTIME_DIR/runt and is gone', readdirSync(join(xdg, 'runt')), []);
  rmdirSync(join(top, 'self'));
  rmdirSync(top);
});

await runGroups(async () => {
  for (const c of rt.list()) await rt.delete(c.id, { force: true }).catch(() => undefined);
});

// Only the parents runt made for the paths above may remain (runc, too, removes only the leaf).
const parents = new Set(['/runt-vm', '/runt-vm/a', '/runt-vm/a/b', '/rel', '/runt']);
check(
  'cleanup: no container cgroup is left',
  cgroupTree().filter((d) => !before.has(d) && !parents.has(d)),
  [],
);
check(
  'cleanup: no state is left',
  rt.list().map((x) => x.id),
  [],
);
finish();
