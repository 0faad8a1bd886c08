// Unpacking layers by layer.md, against umoci as the independent reference: a crafted three-layer
// image (whiteouts, an opaque directory, hard links within and across layers, devices, a FIFO,
// symlinks, setuid/setgid, owners, times, security.capability and user xattrs) unpacks in runt file
// for file as `umoci unpack` does, and a container of it sees the same tree through its overlay.
// Then malicious layers (path traversal, symlink escapes, a hard link out, a tar bomb, a truncated
// layer) and a full store disk: one line naming the layer, nothing left, the host untouched.
import t from 'tap';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, lstatSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, errorLines, sourceRootfs, stateRoot, waitFor, waitForFile } from './helpers/index.js';
import { writeLayout } from './helpers/oci-layout.js';
import { tarBuffer } from '../src/image/tar-writer.js';
import { native } from '../src/native.js';

if (!existsSync('/usr/bin/umoci')) {
  t.plan(0, 'umoci is not installed (apt-get install umoci)');
  process.exit(0);
}

const STORE = mkdtempSync('/tmp/runt-test-unpack-store-');
process.env.RUNT_STORE = STORE;
const WORK = mkdtempSync('/tmp/runt-test-unpack-');
t.teardown(() => {
  rmSync(STORE, { recursive: true, force: true });
  rmSync(WORK, { recursive: true, force: true });
});

const T = 1_700_000_000;
const CAP = Buffer.from([0, 0, 0, 2, 0, 0x20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]); // VFS_CAP_REVISION_2, cap_net_raw
const f = (name: string, data: string, extra: object = {}) => ({ name, type: 'file' as const, mode: 0o644, mtime: T, data, ...extra });
const d = (name: string, extra: object = {}) => ({ name, type: 'dir' as const, mode: 0o755, mtime: T, ...extra });

const layer1 = tarBuffer([
  d('etc/'),
  f('etc/passwd', 'root:x:0:0::/root:/bin/sh\napp:x:1000:1000::/:/bin/sh\n'),
  f('etc/group', 'root:x:0:\napp:x:1000:\n'),
  d('x/'),
  f('x/suid', 'suid', { mode: 0o4755, uid: 1000, gid: 1000 }),
  f('x/cap', 'cap', { mode: 0o755, xattrs: { 'security.capability': CAP, 'user.note': Buffer.from([0x68, 0, 0xff, 0x69]) } }),
  f('x/hard1', 'shared content'),
  { name: 'x/hard2', type: 'link', linkname: 'x/hard1', mtime: T },
  { name: 'x/sym', type: 'symlink', linkname: '/x/suid', mtime: T },
  d('devs/'),
  { name: 'devs/null0', type: 'char', mode: 0o666, devmajor: 1, devminor: 3, mtime: T },
  { name: 'devs/blk', type: 'block', mode: 0o600, devmajor: 7, devminor: 0, mtime: T },
  { name: 'devs/fifo', type: 'fifo', mode: 0o644, mtime: T },
  d('gone/'),
  f('gone/a', 'a'),
  d('opq/'),
  f('opq/old1', '1'),
  f('opq/old2', '2'),
  f('del-me', 'bye'),
  d('keep/'),
  f('keep/x', 'x'),
  d('dir-mode/', { mode: 0o2750, uid: 5, gid: 6 }),
]);
const layer2 = tarBuffer([
  f('.wh.del-me', ''),
  f('.wh.gone', ''),
  d('opq/'),
  f('opq/.wh..wh..opq', ''),
  f('opq/new', 'new'),
  { name: 'x/l2link', type: 'link', linkname: 'x/hard1', mtime: T },
  f('keep/y', 'y'),
  f('x/suid', 'replaced', { mode: 0o2755, uid: 0, gid: 1000 }),
]);
const layer3 = tarBuffer([f('keep/z', 'z'), f('newdir/sub/file', 'implicit parents'), d('gone/'), f('gone/b', 'b')]);

/** path → "type mode uid gid size content-hash|target|rdev xattrs", plus hard-link groups. */
function tree(root: string, skip: string[] = []): { files: Record<string, string>; links: string[] } {
  const files: Record<string, string> = {};
  const inodes = new Map<number, string[]>();
  const walk = (rel: string) => {
    for (const name of readdirSync(join(root, rel)).sort()) {
      const p = rel ? `${rel}/${name}` : name;
      if (skip.includes(p)) continue;
      const full = join(root, p);
      const st = lstatSync(full);
      let what = '';
      if (st.isFile()) what = createHash('sha256').update(readFileSync(full)).digest('hex').slice(0, 16);
      else if (st.isSymbolicLink()) what = readlinkSync(full);
      else if (st.isCharacterDevice() || st.isBlockDevice()) what = String(st.rdev);
      const xattrs = native()
        .llistxattr(full)
        .filter((x) => !x.startsWith('trusted.'))
        .sort()
        .map((x) => `${x}=${native().lgetxattr(full, x)?.toString('hex')}`)
        .join(',');
      files[p] =
        `${(st.mode >>> 0).toString(8)} ${st.uid}:${st.gid} ${st.isDirectory() ? '-' : st.size} ${what} ${xattrs} ${st.isDirectory() ? '' : Math.floor(st.mtimeMs / 1000)}`;
      if (st.isFile() && st.nlink > 1) inodes.set(st.ino, [...(inodes.get(st.ino) ?? []), p]);
      if (st.isDirectory()) walk(p);
    }
  };
  walk('');
  return { files, links: [...inodes.values()].map((g) => g.sort().join(' = ')).sort() };
}

t.test('a crafted three-layer image: runt equals umoci file for file, and the container sees it', async (t) => {
  const root = stateRoot(t);
  // Layer 0: busybox (GNU tar), so the container has a shell.
  execFileSync('tar', [
    '-C',
    sourceRootfs(),
    '--format=pax',
    '--numeric-owner',
    '--exclude=./etc',
    '--exclude=./dev',
    '-cf',
    join(WORK, 'bb.tar'),
    '.',
  ]);
  const layout = join(WORK, 'crafted');
  writeLayout(layout, 'v1', [readFileSync(join(WORK, 'bb.tar')), layer1, layer2, layer3], { Cmd: ['sh'], User: 'app' });
  execFileSync('tar', ['-C', layout, '-cf', join(WORK, 'crafted.tar'), '.']);

  const imp = root.runt(['image', 'import', join(WORK, 'crafted.tar'), 'crafted:v1']);
  t.equal(imp.code, 0, describe(imp));
  const bundle = join(WORK, 'runt-bundle');
  const b = root.runt(['image', 'bundle', 'crafted:v1', bundle]);
  t.equal(b.code, 0, describe(b));

  const umoci = spawnSync('umoci', ['unpack', '--image', `${layout}:v1`, join(WORK, 'umoci-bundle')], { encoding: 'utf8' });
  t.equal(umoci.status, 0, umoci.stderr);
  const ours = tree(join(bundle, 'rootfs'));
  const theirs = tree(join(WORK, 'umoci-bundle', 'rootfs'));
  t.same(ours.files, theirs.files, 'every path, type, mode, owner, size, content, target, device, xattr and mtime');
  t.same(ours.links, theirs.links, 'hard-link groups');
  // What the layers said, checked directly too.
  t.notOk('del-me' in ours.files, 'whiteout');
  t.same(
    Object.keys(ours.files).filter((p) => p.startsWith('opq/')),
    ['opq/new'],
    'opaque directory',
  );
  t.same(
    Object.keys(ours.files).filter((p) => p.startsWith('gone/')),
    ['gone/b'],
    'removed, then made again',
  );
  t.match(ours.files['x/suid'], /^102755 0:1000 /, 'setgid from the upper layer');
  t.match(ours.links, ['x/hard1 = x/hard2 = x/l2link'], 'a hard link into a lower layer');
  t.match(ours.files['x/cap'], new RegExp(`security.capability=${CAP.toString('hex')}`), 'security.capability, byte for byte');
  t.match(ours.files['devs/fifo'], /^10644 /);
  t.match(ours.files['dir-mode'], /^42750 5:6 /);

  // Inside a container: the overlay of the four snapshots shows the same tree, except that a hard
  // link layer 2 made to layer 1's file is a copy-up there (as with Docker's overlay2): the new
  // pair share an inode, layer 1's other link keeps the old one.
  const listing = root.runt(
    [
      'run',
      '--image',
      'crafted:v1',
      root.id('crafted'),
      '--',
      'sh',
      '-c',
      'cd / && for p in x/suid x/cap x/hard1 x/l2link opq/new opq/old1 del-me gone/a gone/b keep/x keep/y keep/z newdir/sub/file devs/fifo; do if [ -e $p ]; then stat -c "%n %a %u %g %h" $p; else echo "$p absent"; fi; done; id -u',
    ],
    {},
  );
  t.equal(listing.code, 0, describe(listing));
  t.equal(
    listing.stdout,
    [
      'x/suid 2755 0 1000 1',
      'x/cap 755 0 0 1',
      'x/hard1 644 0 0 2',
      'x/l2link 644 0 0 2',
      'opq/new 644 0 0 1',
      'opq/old1 absent',
      'del-me absent',
      'gone/a absent',
      'gone/b 644 0 0 1',
      'keep/x 644 0 0 1',
      'keep/y 644 0 0 1',
      'keep/z 644 0 0 1',
      'newdir/sub/file 644 0 0 1',
      'devs/fifo 644 0 0 1',
      '1000',
      '',
    ].join('\n'),
    'whiteouts, opaque dirs, links and modes through the overlay; User "app" from the image\'s passwd',
  );
  t.same(readdirSync(join(STORE, 'containers')), [], 'nothing left of the container');
});

const HOST = mkdtempSync('/tmp/runt-test-host-');
t.teardown(() => rmSync(HOST, { recursive: true, force: true }));

function importLayers(
  root: ReturnType<typeof stateRoot>,
  name: string,
  layers: Buffer[],
  opts: { raw?: Buffer[]; rawTypes?: string[]; diffIds?: string[]; extra?: string[] } = {},
) {
  const dir = join(WORK, name);
  rmSync(dir, { recursive: true, force: true });
  const img = writeLayout(dir, 'v1', layers, {}, { diffIds: opts.diffIds });
  if (opts.raw) {
    // Replace a layer blob with bytes of the test's choosing (and the manifest with one naming them).
    const manifestPath = join(dir, 'blobs/sha256', img.manifestDigest.slice(7));
    const manifest = JSON.parse(readFileSync(manifestPath, 'utf8'));
    opts.raw.forEach((raw, i) => {
      const digest = `sha256:${createHash('sha256').update(raw).digest('hex')}`;
      writeFileSync(join(dir, 'blobs/sha256', digest.slice(7)), raw);
      manifest.layers[i] = {
        ...manifest.layers[i],
        digest,
        size: raw.length,
        ...(opts.rawTypes?.[i] ? { mediaType: opts.rawTypes[i] } : {}),
      };
    });
    const body = Buffer.from(JSON.stringify(manifest));
    const md = `sha256:${createHash('sha256').update(body).digest('hex')}`;
    writeFileSync(join(dir, 'blobs/sha256', md.slice(7)), body);
    writeFileSync(
      join(dir, 'index.json'),
      JSON.stringify({
        schemaVersion: 2,
        manifests: [
          {
            mediaType: 'application/vnd.oci.image.manifest.v1+json',
            digest: md,
            size: body.length,
            annotations: { 'org.opencontainers.image.ref.name': 'v1' },
          },
        ],
      }),
    );
  }
  execFileSync('tar', ['-C', dir, '-cf', `${dir}.tar`, '.']);
  return root.runt(['image', 'import', ...(opts.extra ?? []), `${dir}.tar`, `${name}:v1`]);
}

const snapshots = () => (existsSync(join(STORE, 'snapshots')) ? readdirSync(join(STORE, 'snapshots')) : []);

t.test('malicious layers: refused with one line naming the layer, or kept inside the root; the host untouched', async (t) => {
  const root = stateRoot(t);
  const before = snapshots();
  const refused = (r: { code: number | null }, pattern: RegExp, what: string) => {
    t.not(r.code, 0, `${what}: non-zero exit`);
    const lines = errorLines(r as never);
    t.equal(lines.length, 1, `${what}: one line`);
    t.match(lines[0], pattern, what);
    t.same(snapshots(), before, `${what}: no snapshot left`);
    t.same(readdirSync(join(STORE, 'tmp')), [], `${what}: nothing in the store's temp area`);
    t.same(readdirSync(HOST), [], `${what}: the host directory is untouched`);
  };
  refused(
    importLayers(root, 'traversal', [tarBuffer([f(`../../../../../../..${HOST}/pwned`, 'x')])]),
    /layer sha256:[0-9a-f]{64}: entry ".*pwned" leaves the root \(path traversal\)/,
    'path traversal',
  );
  refused(
    importLayers(root, 'hardlink-out', [tarBuffer([{ name: 'hl', type: 'link', linkname: '/etc/shadow' }])]),
    /layer sha256:[0-9a-f]{64}: hard link "hl" to "\/etc\/shadow", which does not exist in the image/,
    'hard link to a host file',
  );
  refused(
    importLayers(root, 'hardlink-dotdot', [tarBuffer([{ name: 'hl', type: 'link', linkname: '../../../../etc/passwd' }])]),
    /path traversal/,
    'hard link with ..',
  );
  refused(
    importLayers(root, 'bomb', [tarBuffer([f('zeros', '\0'.repeat(20 << 20))])], { extra: ['--max-layer-bytes', '1000000'] }),
    /layer sha256:[0-9a-f]{64}: unpacks to more than 1000000 bytes/,
    'tar bomb',
  );
  const whole = gzipSync(tarBuffer([f('a', 'x'.repeat(100_000)), f('b', 'y'.repeat(100_000))]));
  refused(
    importLayers(root, 'truncated', [tarBuffer([])], { raw: [whole.subarray(0, whole.length >> 1)] }),
    /layer sha256:[0-9a-f]{64}: truncated or corrupt/,
    'truncated layer',
  );
  refused(
    importLayers(root, 'diffid', [tarBuffer([f('a', 'a')])], { diffIds: [`sha256:${'0'.repeat(64)}`] }),
    /layer sha256:[0-9a-f]{64} \(uncompressed, config diff_id\): digest mismatch/,
    'a layer that is not its diff_id',
  );

  // Symlinks planted by a lower layer (absolute and relative) are followed inside the root only.
  const esc = importLayers(root, 'symlinks', [
    tarBuffer([
      { name: 'abs', type: 'symlink', linkname: HOST },
      { name: 'rel', type: 'symlink', linkname: `../../../../../..${HOST}` },
    ]),
    tarBuffer([f('abs/pwned', 'p'), f('rel/pwned2', 'p')]),
  ]);
  t.equal(esc.code, 0, describe(esc));
  t.same(readdirSync(HOST), [], 'nothing written through the symlinks to the host');
  const b = join(WORK, 'symlinks-bundle');
  t.equal(root.runt(['image', 'bundle', 'symlinks:v1', b]).code, 0);
  t.equal(readFileSync(join(b, 'rootfs', HOST, 'pwned'), 'utf8'), 'p', 'the file landed inside the image, under the path the link named');
  t.ok(existsSync(join(b, 'rootfs', HOST, 'pwned2')));
});

const ZSTD = ['/usr/bin/zstd', '/bin/zstd'].find((p) => existsSync(p));
const zstd = (data: Buffer, ...args: string[]) => execFileSync(ZSTD as string, ['-q', '-c', ...args], { input: data, maxBuffer: 1 << 28 });

t.test('zstd layers (made by the zstd tool): unpacked by diff_id, a container runs from them; a corrupt one is refused', async (t) => {
  if (!ZSTD) return t.skip('zstd is not installed (apt-get install zstd)', () => {});
  const root = stateRoot(t);
  // The busybox rootfs (several MB: many zstd blocks) and a crafted layer sent as two concatenated
  // frames, under the non-distributable zstd media type.
  const bb = execFileSync('tar', ['-C', sourceRootfs(), '--format=pax', '--numeric-owner', '-cf', '-', '.'], { maxBuffer: 1 << 28 });
  const big = Buffer.alloc(3 << 20);
  for (let i = 0; i < big.length; i += 4) big.writeUInt32LE((i * 2654435761) >>> 0, i);
  const top = tarBuffer([
    d('z/'),
    f('z/hello', 'zstd says hi\n'),
    f('z/big', '', { data: big }),
    f('z/suid', 's', { mode: 0o4755, uid: 1000, gid: 1000 }),
  ]);
  const half = top.length >> 1;
  const topZst = Buffer.concat([zstd(top.subarray(0, half)), zstd(top.subarray(half), '-19')]);
  const imp = importLayers(root, 'zst', [bb, top], {
    raw: [zstd(bb), topZst],
    rawTypes: ['application/vnd.oci.image.layer.v1.tar+zstd', 'application/vnd.oci.image.layer.nondistributable.v1.tar+zstd'],
  });
  t.equal(imp.code, 0, describe(imp));
  const bundle = join(WORK, 'zst-bundle');
  const b = root.runt(['image', 'bundle', 'zst:v1', bundle]);
  t.equal(b.code, 0, describe(b));
  const rootfs = join(bundle, 'rootfs');
  t.equal(readFileSync(join(rootfs, 'z/hello'), 'utf8'), 'zstd says hi\n');
  t.ok(readFileSync(join(rootfs, 'z/big')).equals(big), 'a 3 MB file across both frames, byte for byte');
  const st = lstatSync(join(rootfs, 'z/suid'));
  t.same([st.mode & 0o7777, st.uid, st.gid], [0o4755, 1000, 1000], 'mode and owner');
  t.same(tree(rootfs, ['z']).files, tree(sourceRootfs()).files, 'the busybox layer equals its source, file for file');
  const run = root.runt(
    ['run', '--image', 'zst:v1', root.id('zst'), '--', 'sh', '-c', 'cat /z/hello && busybox | head -1 | cut -c1-7'],
    {},
  );
  t.equal(run.code, 0, describe(run));
  t.equal(run.stdout, 'zstd says hi\nBusyBox\n', 'a container runs from the zstd layers');
  const ok = snapshots();

  const refused = (r: { code: number | null }, pattern: RegExp, what: string) => {
    t.not(r.code, 0, `${what}: non-zero exit`);
    const lines = errorLines(r as never);
    t.equal(lines.length, 1, `${what}: one line (${lines.join(' | ')})`);
    t.match(lines[0], pattern, what);
    t.same(snapshots(), ok, `${what}: no snapshot left`);
    t.same(readdirSync(join(STORE, 'tmp')), [], `${what}: nothing in the store's temp area`);
  };
  const layer = [tarBuffer([f('a', 'x'.repeat(300_000)), f('b', '', { data: big.subarray(0, 500_000) })])];
  const good = zstd(layer[0]);
  refused(
    importLayers(root, 'zst-truncated', layer, {
      raw: [good.subarray(0, good.length >> 1)],
      rawTypes: ['application/vnd.oci.image.layer.v1.tar+zstd'],
    }),
    /layer sha256:[0-9a-f]{64}: truncated or corrupt: invalid zstd stream/,
    'a truncated zstd layer',
  );
  const bad = Buffer.from(good);
  bad.fill(0xff, 64, bad.length - 64);
  refused(
    importLayers(root, 'zst-corrupt', layer, { raw: [bad], rawTypes: ['application/vnd.oci.image.layer.v1.tar+zstd'] }),
    /layer sha256:[0-9a-f]{64}(: | \(uncompressed, config diff_id\): digest mismatch)/,
    'a corrupt zstd layer (garbage decoded or refused by the decoder, the tar reader or the diff_id)',
  );
  // A second frame that asks for a 1 GB window (zstd --long=30): refused before the decoder
  // allocates it, as zstd's own CLI does above 128 MB.
  refused(
    importLayers(root, 'zst-window', layer, {
      raw: [Buffer.concat([zstd(layer[0].subarray(0, 1024)), zstd(layer[0].subarray(1024), '--long=30')])],
      rawTypes: ['application/vnd.oci.image.layer.v1.tar+zstd'],
    }),
    /layer sha256:[0-9a-f]{64}: truncated or corrupt: invalid zstd stream: a frame asks for a 1024 MB window, over the 128 MB limit/,
    'a zstd frame asking for a 1 GB window',
  );
  t.notOk(existsSync(join(STORE, 'containers')) && readdirSync(join(STORE, 'containers')).length, 'no container left');
});

t.test('a full disk: one line, nothing half-written (a small tmpfs store in a private mount namespace)', async (t) => {
  if (!existsSync('/usr/bin/unshare')) return t.skip('no unshare', () => {});
  const root = stateRoot(t);
  const big = Buffer.alloc(6 << 20);
  for (let i = 0; i < big.length; i += 4) big.writeUInt32LE((i * 2654435761) >>> 0, i);
  const dir = join(WORK, 'big');
  writeLayout(dir, 'v1', [tarBuffer([f('big', big.toString('latin1'))])]);
  execFileSync('tar', ['-C', dir, '-cf', `${dir}.tar`, '.']);
  const small = join(WORK, 'small-store');
  const script = `mount -t tmpfs -o size=4m runt-test ${small} && "$@" --store ${small} image import ${dir}.tar big:v1 2>${WORK}/full.err; echo "rc=$?"; echo "left=$(ls -A ${small}/tmp ${small}/snapshots | grep -v ':$' | grep -c .)"; cat ${small}/index.json`;
  execFileSync('mkdir', ['-p', small]);
  const argv = [process.execPath, join(process.cwd(), 'bin/runt.cjs')];
  const r = spawnSync('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', script, 'sh', ...argv], {
    encoding: 'utf8',
    env: { ...process.env, NODE_EXTRA_CA_CERTS: '' },
  });
  const err = readFileSync(join(WORK, 'full.err'), 'utf8').trim().split('\n');
  t.match(r.stdout, /rc=[1-9]/, 'non-zero exit');
  t.equal(err.length, 1, `one line: ${err.join(' | ')}`);
  t.match(err[0], /no space left/);
  t.match(r.stdout, /"manifests":\s*\[\]/, 'no image named');
  t.match(r.stdout, /left=0\n/, 'tmp and snapshots empty');
  t.same(readdirSync(small), [], 'the tmpfs was only in the namespace');
  void root;
});

t.test('an unpack at first use holds the store lock shared: a prune or rm meanwhile waits for it; nothing half-written', async (t) => {
  const root = stateRoot(t);
  execFileSync('tar', ['-C', sourceRootfs(), '--format=pax', '--numeric-owner', '--exclude=./dev', '-cf', join(WORK, 'fu-bb.tar'), '.']);
  const layout = join(WORK, 'firstuse');
  const data = tarBuffer([d('data/'), f('data/a', 'a'.repeat(300_000)), f('data/b', 'bee')]);
  writeLayout(layout, 'v1', [readFileSync(join(WORK, 'fu-bb.tar')), data], { Cmd: ['cat', '/data/b'] });
  execFileSync('tar', ['-C', layout, '-cf', `${layout}.tar`, '.']);
  const store = join(WORK, 'firstuse-store');
  const imp = root.runt(['--store', store, 'image', 'import', `${layout}.tar`, 'firstuse:v1']);
  t.equal(imp.code, 0, describe(imp));
  const dir = (sub: string) => (existsSync(join(store, sub)) ? readdirSync(join(store, sub)) : []);
  // As after `pull --no-unpack`: the blobs are there, the snapshots are not.
  const dropSnapshots = () => dir('snapshots').forEach((s) => rmSync(join(store, 'snapshots', s), { recursive: true }));
  const hold = mkdtempSync('/tmp/runt-test-hold-');
  t.teardown(() => rmSync(hold, { recursive: true, force: true }));
  const holdsStoreLock = (pid: number) => {
    try {
      return readdirSync(`/proc/${pid}/fd`).some((fd) => readlinkSync(`/proc/${pid}/fd/${fd}`) === join(store, 'lock'));
    } catch {
      return false;
    }
  };
  // Starts `first` with its unpack held (RUNT_TEST_HOLD_UNPACK) once its work directory is made, then
  // `second` (a GC); the GC must still be waiting when the unpack goes on.
  const race = async (first: string[], second: string[]) => {
    rmSync(join(hold, 'held'), { force: true });
    rmSync(join(hold, 'release'), { force: true });
    process.env.RUNT_TEST_HOLD_UNPACK = hold;
    const a = root.runtAsync(['--store', store, ...first], { timeoutMs: 60_000 });
    delete process.env.RUNT_TEST_HOLD_UNPACK;
    const work = await waitForFile(join(hold, 'held'), () => true, 30_000);
    t.ok(existsSync(work), `${first[0]} ${first[1]}: the unpack's work directory is made (${work})`);
    const b = root.runtAsync(['--store', store, ...second], { timeoutMs: 60_000 });
    let bDone = false;
    void b.done.then(() => (bDone = true));
    await waitFor(`${second.join(' ')} to open the store's lock`, () => bDone || holdsStoreLock(b.pid), 30_000);
    // A GC that did not wait would be done within this (it takes a few ms once it has the lock).
    if (!bDone) await new Promise((r) => setTimeout(r, 1000));
    t.notOk(bDone, `${second.join(' ')} waits while the unpack holds the store's lock`);
    t.ok(existsSync(work), 'the work directory is still there');
    writeFileSync(join(hold, 'release'), '');
    const [ra, rb] = await Promise.all([a.done, b.done]);
    t.equal(ra.code, 0, `${first.join(' ')}: ${describe(ra)}`);
    t.equal(rb.code, 0, `${second.join(' ')}: ${describe(rb)}`);
    t.same(dir('tmp'), [], 'nothing left in tmp');
    return ra;
  };

  dropSnapshots();
  const bundle = join(WORK, 'firstuse-bundle');
  await race(['image', 'bundle', 'firstuse:v1', bundle], ['image', 'prune']);
  t.equal(readFileSync(join(bundle, 'rootfs', 'data', 'a'), 'utf8').length, 300_000, 'the bundle is whole');
  t.equal(dir('snapshots').length, 2, 'both snapshots kept (the image is named)');

  dropSnapshots();
  const run = await race(['run', '--image', 'firstuse:v1', root.id('fu')], ['image', 'rm', 'firstuse:v1']);
  t.equal(run.stdout, 'bee', 'the container ran on the snapshots unpacked at first use');
  const pr = root.runt(['--store', store, 'image', 'prune']);
  t.equal(pr.code, 0, describe(pr));
  t.same(
    [dir('snapshots'), dir('containers'), dir('blobs/sha256')],
    [[], [], []],
    'the image removed: no snapshot, container or blob left',
  );
});
