// runtime-spec 1.3 mount fields: the recursive options (mount_setattr with AT_RECURSIVE) reach the
// mounts below a bind too, relative destinations are taken from "/" with a warning, and
// linux.intelRdt is refused by name on a host without resctrl. The submount under a bind source is
// made by the test in a private mount namespace of its own (unshare --mount), never on the host.
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, errorLines, makeBundle, mountAt, parseMountinfo, stateRoot } from './helpers/index.js';
import { runt } from './helpers/runt.js';

function canMountSetattr(): string | null {
  try {
    execFileSync('unshare', ['--mount', '--propagation', 'private', 'true'], { stdio: 'ignore' });
  } catch {
    return 'unshare --mount does not work here';
  }
  return null;
}

t.test('recursive options reach a submount of an rbind; the plain ones do not', async (t) => {
  const why = canMountSetattr();
  if (why) {
    t.skip(why, () => {});
    return;
  }
  const root = stateRoot(t);
  const bundle = makeBundle(t, ['cat', '/proc/self/mountinfo']);
  const src = bundle.hostDir('tree');
  mkdirSync(join(src, 'sub'));
  bundle.spec.mounts!.push(
    { destination: '/r', type: 'bind', source: src, options: ['rbind', 'rro', 'rnosuid', 'rnodev', 'rnoexec', 'rnoatime'] },
    { destination: '/p', type: 'bind', source: src, options: ['rbind', 'ro', 'nosuid'] },
  );
  bundle.write();
  // The submount exists only in the test's own mount namespace, in which runt runs.
  const wrapper = [
    'unshare',
    '--mount',
    '--propagation',
    'private',
    'sh',
    '-c',
    `mount -t tmpfs -o size=64k sub "${src}/sub" && exec "$@"`,
    'sh',
  ];
  const r = root.run(bundle, undefined, [], { wrapper });
  t.equal(r.code, 0, describe(r));
  const mounts = parseMountinfo(r.stdout);
  for (const point of ['/r', '/r/sub']) {
    const m = mountAt(mounts, point);
    t.ok(m, `${point} is mounted`);
    for (const opt of ['ro', 'nosuid', 'nodev', 'noexec', 'noatime'])
      t.ok(m?.options.includes(opt), `${point}: ${opt} (${m?.options.join(',')})`);
  }
  t.ok(mountAt(mounts, '/p')?.options.includes('ro'), '/p: ro');
  t.ok(mountAt(mounts, '/p/sub')?.options.includes('rw'), '/p/sub: a plain ro does not reach the submount');
});

t.test('recursive options on a tmpfs, and rrw/ratime undo earlier ones', async (t) => {
  const root = stateRoot(t);
  const r = root.run(
    makeBundle(t, ['cat', '/proc/self/mountinfo'], (s) => {
      s.mounts!.push(
        { destination: '/t', type: 'tmpfs', source: 'tmpfs', options: ['rro', 'rnosymfollow', 'rstrictatime'] },
        { destination: '/u', type: 'tmpfs', source: 'tmpfs', options: ['rro', 'rnoatime', 'rrw', 'ratime'] },
      );
    }),
  );
  t.equal(r.code, 0, describe(r));
  const mounts = parseMountinfo(r.stdout);
  const tOpts = mountAt(mounts, '/t')?.options ?? [];
  t.ok(tOpts.includes('ro') && tOpts.includes('nosymfollow'), `/t: ro, nosymfollow (${tOpts.join(',')})`);
  t.notOk(tOpts.includes('relatime') || tOpts.includes('noatime'), '/t: strictatime (neither relatime nor noatime)');
  const uOpts = mountAt(mounts, '/u')?.options ?? [];
  t.ok(uOpts.includes('rw') && uOpts.includes('relatime'), `/u: rw, relatime (${uOpts.join(',')})`);
});

t.test('a relative mount destination is taken from / with a warning (deprecated)', async (t) => {
  const root = stateRoot(t);
  const r = root.run(
    makeBundle(t, ['cat', '/proc/self/mountinfo'], (s) => {
      s.mounts!.push({ destination: 'rel/dir', type: 'tmpfs', source: 'tmpfs', options: ['size=64k'] });
    }),
  );
  t.equal(r.code, 0, describe(r));
  t.equal(mountAt(parseMountinfo(r.stdout), '/rel/dir')?.fstype, 'tmpfs', 'mounted at /rel/dir');
  t.match(r.stderr, /warning: mounts\[\d+\]\.destination: relative destination "rel\/dir" is deprecated: taken as "\/rel\/dir"/);
});

t.test('linux.intelRdt without resctrl: refused with one line naming the field, nothing left', async (t) => {
  const mounted = /\s-\sresctrl\s/.test(execFileSync('cat', ['/proc/self/mountinfo'], { encoding: 'utf8' }));
  const root = stateRoot(t);
  const r = root.run(
    makeBundle(t, ['true'], (s) => {
      s.linux!.intelRdt = { closID: 'c1', l3CacheSchema: 'L3:0=f' };
    }),
  );
  t.not(r.code, 0);
  t.same(errorLines(r), [
    mounted
      ? 'linux.intelRdt: not supported by runt (resctrl is mounted, but runt has no Intel RDT code path)'
      : 'linux.intelRdt: no resctrl filesystem is mounted on this host (/sys/fs/resctrl)',
  ]);
  t.same(root.entries(), [], 'no state left');
});

t.test('features: 1.3.0, and what the planner carries out', async (t) => {
  const r = runt(['features']);
  t.equal(r.code, 0, describe(r));
  const f = JSON.parse(r.stdout);
  t.equal(f.ociVersionMax, '1.3.0');
  for (const o of ['rro', 'rrw', 'rnosuid', 'rnodev', 'rnoexec', 'rnoatime', 'rrelatime', 'rstrictatime', 'rnosymfollow', 'ratime']) {
    t.ok(f.mountOptions.includes(o), `mountOptions lists ${o}`);
  }
  t.equal(f.linux.intelRdt.enabled, false, 'intelRdt: refused, so not enabled');
  t.equal(f.linux.mountExtensions.idmap.enabled, true, 'idmapped mounts');
  t.equal(f.linux.netDevices.enabled, true, 'netDevices');
  t.ok(f.mountOptions.includes('idmap') && f.mountOptions.includes('ridmap'));
  t.ok(f.linux.memoryPolicy.modes.includes('MPOL_BIND') && f.linux.memoryPolicy.flags.includes('MPOL_F_STATIC_NODES'));
});

t.test('explain shows each 1.3 field as the step that carries it out, naming the field', async (t) => {
  const b = makeBundle(t, 'true', (s) => {
    s.process!.scheduler = { policy: 'SCHED_BATCH', nice: 3 };
    s.process!.ioPriority = { class: 'IOPRIO_CLASS_BE', priority: 4 };
    s.linux!.personality = { domain: 'LINUX32' };
    s.linux!.memoryPolicy = { mode: 'MPOL_PREFERRED', nodes: '0' };
    s.linux!.netDevices = { dev0: { name: 'ctr0' } };
    s.mounts!.push({ destination: '/t', type: 'tmpfs', source: 'tmpfs', options: ['rro', 'rnosuid'] });
  });
  const r = runt(['explain', '--bundle', b.dir, '--format', 'json']);
  t.equal(r.code, 0, describe(r));
  const steps = JSON.parse(r.stdout).steps as Array<{ op: string; field: string; args: Record<string, unknown> }>;
  const find = (op: string) => steps.find((s) => s.op === op);
  t.equal(find('sched')?.field, 'process.scheduler');
  t.same(find('sched')?.args.policy, 'SCHED_BATCH');
  t.equal(find('ioprio')?.field, 'process.ioPriority');
  t.equal(find('personality')?.field, 'linux.personality');
  t.same(find('mempolicy')?.args, { mode: 'MPOL_PREFERRED', flags: [], nodes: [0] });
  t.equal(find('netDevice')?.field, 'linux.netDevices["dev0"]');
  t.same(find('mountSetattr')?.args, { target: '/t', set: ['MOUNT_ATTR_RDONLY', 'MOUNT_ATTR_NOSUID'], clear: [], recursive: true });
  t.equal(find('mountSetattr')?.field, `mounts[${b.spec.mounts!.length - 1}]`);
});
