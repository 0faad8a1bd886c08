// Idmapped bind mounts (mounts[].options idmap/ridmap with uidMappings/gidMappings): ownership seen
// inside through the mount's mapping, the container's own mapping used when the mount has none,
// writes landing on disk with the unmapped ids, `idmapped` in mountinfo, ridmap reaching submounts,
// and idmap on a mount that is not a bind refused by name.
import t from 'tap';
import { chownSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { release } from 'node:os';
import { join } from 'node:path';
import { describe, errorLines, makeBundle, mountAt, parseMountinfo, stateRoot, type Bundle } from './helpers/index.js';

function ownedTree(b: Bundle): string {
  const src = b.hostDir('owned');
  writeFileSync(join(src, 'root-file'), 'r\n');
  chownSync(join(src, 'root-file'), 0, 0);
  writeFileSync(join(src, 'user-file'), 'u\n');
  chownSync(join(src, 'user-file'), 1000, 1000);
  return src;
}

/** mount_setattr and idmapped ext4/tmpfs mounts: Linux 5.12 / 5.15 / 6.3; without them, skip. */
function kernelBefore(major: number, minor: number): boolean {
  const [k, m] = release().split('.').map(Number);
  return k < major || (k === major && m < minor);
}
if (kernelBefore(6, 3)) t.plan(0, `idmapped mounts of ext4 and tmpfs need Linux 6.3 (this is ${release()})`);

const STAT = (dir = '/m') => `stat -c %u:%g ${dir}/root-file ${dir}/user-file; echo ---; cat /proc/self/mountinfo`;

function parse(stdout: string) {
  const [ids, mounts = ''] = stdout.split('---\n');
  return { ids: ids.trim().split('\n'), mounts: parseMountinfo(mounts) };
}

t.test("idmap with the mount's own mappings (no user namespace)", async (t) => {
  const root = stateRoot(t);
  const b = makeBundle(t, STAT());
  const src = ownedTree(b);
  b.spec.mounts!.push({
    destination: '/m',
    type: 'bind',
    source: src,
    options: ['bind', 'idmap'],
    uidMappings: [{ containerID: 0, hostID: 1234, size: 65536 }],
    gidMappings: [{ containerID: 0, hostID: 4321, size: 65536 }],
  });
  b.write();
  const r = root.run(b);
  t.equal(r.code, 0, describe(r));
  const { ids, mounts } = parse(r.stdout);
  t.same(ids, ['1234:4321', '2234:5321'], 'disk id k shows as hostID + k');
  t.ok(mountAt(mounts, '/m')?.options.includes('idmapped'), `mountinfo: ${mountAt(mounts, '/m')?.options.join(',')}`);
});

t.test('mappings without the idmap option still idmap the mount (the option only says how deep)', async (t) => {
  const root = stateRoot(t);
  const b = makeBundle(t, STAT());
  const src = ownedTree(b);
  b.spec.mounts!.push({
    destination: '/m',
    type: 'bind',
    source: src,
    options: ['bind'],
    uidMappings: [{ containerID: 0, hostID: 1234, size: 65536 }],
    gidMappings: [{ containerID: 0, hostID: 4321, size: 65536 }],
  });
  b.write();
  const r = root.run(b);
  t.equal(r.code, 0, describe(r));
  const { ids, mounts } = parse(r.stdout);
  t.same(ids, ['1234:4321', '2234:5321']);
  t.ok(mountAt(mounts, '/m')?.options.includes('idmapped'));
});

t.test("idmap without mappings of its own uses the container's user namespace mapping", async (t) => {
  const root = stateRoot(t);
  // /root exists in the image: the container's root cannot create a directory in a rootfs the
  // host's root owns.
  const b = makeBundle(t, `${STAT('/root')}; echo made > /root/made-inside`, (s) => {
    s.linux!.namespaces!.push({ type: 'user' });
    s.linux!.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
    s.linux!.gidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
  });
  const src = ownedTree(b);
  b.spec.mounts!.push({ destination: '/root', type: 'bind', source: src, options: ['rbind', 'idmap'] });
  b.write();
  const r = root.run(b);
  t.equal(r.code, 0, describe(r));
  const { ids, mounts } = parse(r.stdout);
  t.same(ids, ['0:0', '1000:1000'], "the host's ids show as the same ids inside the user namespace");
  t.ok(mountAt(mounts, '/root')?.options.includes('idmapped'));
  const made = statSync(join(src, 'made-inside'));
  t.same([made.uid, made.gid], [0, 0], "a file the container's root writes is owned by 0 on disk, not 100000");
});

t.test('ridmap reaches submounts, idmap does not', async (t) => {
  const root = stateRoot(t);
  const b = makeBundle(t, 'echo; cat /proc/self/mountinfo');
  const src = ownedTree(b);
  mkdirSync(join(src, 'sub'));
  const maps = {
    uidMappings: [{ containerID: 0, hostID: 1234, size: 65536 }],
    gidMappings: [{ containerID: 0, hostID: 1234, size: 65536 }],
  };
  b.spec.mounts!.push(
    { destination: '/r', type: 'bind', source: src, options: ['rbind', 'ridmap'], ...maps },
    { destination: '/i', type: 'bind', source: src, options: ['rbind', 'idmap'], ...maps },
  );
  b.write();
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
  const r = root.run(b, undefined, [], { wrapper });
  if (r.code !== 0 && /mount_setattr\(MOUNT_ATTR_IDMAP\): EINVAL/.test(r.stderr)) {
    t.skip(`this kernel cannot idmap a tmpfs submount: ${r.stderr.trim()}`, () => {});
    return;
  }
  t.equal(r.code, 0, describe(r));
  const mounts = parseMountinfo(r.stdout);
  t.ok(mountAt(mounts, '/r')?.options.includes('idmapped'), '/r idmapped');
  t.ok(mountAt(mounts, '/r/sub')?.options.includes('idmapped'), '/r/sub idmapped (ridmap)');
  t.ok(mountAt(mounts, '/i')?.options.includes('idmapped'), '/i idmapped');
  t.notOk(mountAt(mounts, '/i/sub')?.options.includes('idmapped'), '/i/sub not idmapped (idmap is not recursive)');
});

t.test('idmap on a mount that is not a bind is refused by name; nothing left', async (t) => {
  const root = stateRoot(t);
  const b = makeBundle(t, 'true', (s) => {
    s.mounts!.push({
      destination: '/t',
      type: 'tmpfs',
      source: 'tmpfs',
      options: ['idmap'],
      uidMappings: [{ containerID: 0, hostID: 1234, size: 1 }],
      gidMappings: [{ containerID: 0, hostID: 1234, size: 1 }],
    });
  });
  const r = root.run(b);
  t.not(r.code, 0);
  t.same(errorLines(r), [`mounts[${b.spec.mounts!.length - 1}].options: "idmap" is carried out on bind mounts only`]);
  t.same(root.entries(), []);
});
