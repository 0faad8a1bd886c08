// Images through a real registry the test starts (Debian's docker-registry on loopback), with
// skopeo as the independent client: an image skopeo pushed pulls and runs in runt (the rootfs an
// overlay the init mounted, the container's writes in its own upper directory, gone with it), also
// with its layers zstd-compressed by skopeo; an image runt pushed reads back in skopeo; bearer-token and basic auth through a proxy of the
// test's own; and bad input: an unknown image, a registry answering 500 or hanging, a blob that
// does not match its digest, a layer that is not its diff_id (refused when it is unpacked: at pull
// or, after --no-unpack, at first use), a loopback HTTPS registry with an untrusted certificate
// (the scheme probe does not verify; the requests that follow do, and send nothing), and one whose CA
// runt is told of (a cut download over TLS resumed with Range, a corrupt blob refused) — one line, a
// non-zero exit, nothing half-written in the store.
import t from 'tap';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, errorLines, sourceRootfs, stateRoot } from './helpers/index.js';
import { registryMissing, startProxy, startRegistry, type Registry } from './helpers/registry.js';
import { writeLayout } from './helpers/oci-layout.js';
import { makeTestCa } from '../bench/tls-ca.js';
import { tarBuffer } from '../src/image/tar-writer.js';
import { randomBytes } from 'node:crypto';

const missing = registryMissing() || (!existsSync('/usr/bin/skopeo') && 'skopeo is not installed');
if (missing) {
  t.plan(0, missing);
  process.exit(0);
}

const STORE = mkdtempSync('/tmp/runt-test-images-');
process.env.RUNT_STORE = STORE;
t.teardown(() => rmSync(STORE, { recursive: true, force: true }));

let registry: Registry;
const skopeo = (...args: string[]) => spawnSync('skopeo', args, { encoding: 'utf8', timeout: 60_000 });

t.before(async () => {
  registry = await startRegistry(t);
  // The busybox rootfs as one layer, tarred by GNU tar (not by runt), pushed by skopeo.
  const work = mkdtempSync('/tmp/runt-test-layout-');
  t.teardown(() => rmSync(work, { recursive: true, force: true }));
  execFileSync('tar', ['-C', sourceRootfs(), '--format=pax', '--numeric-owner', '-cf', join(work, 'layer.tar'), '.']);
  writeLayout(join(work, 'oci'), '1', [readFileSync(join(work, 'layer.tar'))], {
    Cmd: ['sh', '-c', 'echo hello from the image; cat /etc/motd 2>/dev/null; true'],
    WorkingDir: '/tmp',
    Labels: { 'org.example.l': 'label value' },
  });
  const r = skopeo('copy', '--dest-tls-verify=false', `oci:${join(work, 'oci')}:1`, `docker://${registry.host}/test/busybox:1`);
  if (r.status !== 0) throw new Error(`skopeo copy: ${r.stderr}`);
});

const storeFiles = (sub: string) => (existsSync(join(STORE, sub)) ? readdirSync(join(STORE, sub)) : []);

t.test('an image skopeo pushed: pull (JSON progress), run from it on an overlay, delete takes only its own directory', async (t) => {
  const root = stateRoot(t);
  const ref = `${registry.host}/test/busybox:1`;
  const pull = root.runt(['image', 'pull', ref]);
  t.equal(pull.code, 0, describe(pull));
  const events = pull.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { event: string; ref?: string; digest?: string });
  t.same([events[0].event, events[events.length - 1].event], ['resolved', 'done'], 'JSON lines when not a terminal');
  t.match(events[events.length - 1], { ref, digest: /^sha256:[0-9a-f]{64}$/ });
  t.equal(pull.stderr, '', 'nothing on stderr');
  t.same(storeFiles('tmp'), [], 'no partial download left');

  const ls = root.runt(['image', 'ls', '--format', 'json']);
  const list = JSON.parse(ls.stdout) as Array<{ name: string; layers: number; unpackedSize: number }>;
  t.match(list, [{ name: ref, layers: 1 }]);
  t.ok(list[0].unpackedSize > 500_000, 'unpacked size counted');

  const id = root.id('img');
  const run = root.runt([
    'run',
    '--image',
    ref,
    id,
    '--',
    'sh',
    '-c',
    'pwd; grep " / / " /proc/self/mountinfo; echo written > /new-file; cat /new-file',
  ]);
  t.equal(run.code, 0, describe(run));
  t.match(run.stdout, /^\/tmp\n/, 'WorkingDir');
  t.match(
    run.stdout,
    / \/ \/ .* - overlay overlay rw,lowerdir=[^,]*\/snapshots\/[0-9a-f]{64}\/diff,upperdir=[^,]*\/containers\/[^/]*\/upper/,
    'the rootfs is the overlay',
  );
  t.match(run.stdout, /written/);
  t.same(storeFiles('containers'), [], 'run without --keep: the container directory is gone');
  t.equal(storeFiles('snapshots').length, 1, 'the snapshot stays');

  // create + start + delete, and the image's own Cmd
  const id2 = root.id('img');
  const out = join(STORE, 'out.txt');
  const create = root.runt(['create', '--image', ref, id2], { stdoutFile: out, stderrFile: `${out}.err` });
  t.equal(create.code, 0, describe(create));
  const cfg = JSON.parse(readFileSync(join(STORE, 'containers', id2, 'config.json'), 'utf8'));
  t.equal(cfg.annotations['org.example.l'], 'label value', 'labels are annotations');
  t.notOk(existsSync(join(STORE, 'containers', id2, 'upper', 'new-file')), "a new container does not see another's writes");
  t.equal(root.runt(['start', id2]).code, 0);
  for (let i = 0; i < 100 && !readFileSync(out, 'utf8').includes('hello'); i++) await new Promise((r) => setTimeout(r, 50));
  t.match(readFileSync(out, 'utf8'), /hello from the image/);
  const del = root.runt(['delete', '--force', id2]);
  t.equal(del.code, 0, describe(del));
  t.notOk(existsSync(join(STORE, 'containers', id2)), 'delete removes the upper directory');

  const bundleDir = join(STORE, 'plain-bundle');
  const b = root.runt(['image', 'bundle', ref, bundleDir]);
  t.equal(b.code, 0, describe(b));
  t.ok(existsSync(join(bundleDir, 'rootfs/bin/busybox')) && existsSync(join(bundleDir, 'config.json')), 'a plain bundle');
  const rb = root.runt(['run', '--bundle', bundleDir, root.id('plain')]);
  t.match(rb.stdout, /hello from the image/, 'it runs as a bundle');
  rmSync(bundleDir, { recursive: true, force: true });
});

t.test('zstd layers as skopeo pushes them (--dest-compress-format zstd): pull, check, run', async (t) => {
  const root = stateRoot(t);
  const work = mkdtempSync('/tmp/runt-test-zstd-layout-');
  t.teardown(() => rmSync(work, { recursive: true, force: true }));
  // Other mtimes than the gzip image's layer: another diff_id, so this one is unpacked, not shared.
  execFileSync('tar', [
    '-C',
    sourceRootfs(),
    '--format=pax',
    '--numeric-owner',
    '--mtime=@1700000000',
    '-cf',
    join(work, 'layer.tar'),
    '.',
  ]);
  mkdirSync(join(work, 'top/etc'), { recursive: true });
  writeFileSync(join(work, 'top/etc/zstd-motd'), 'from a zstd layer\n');
  execFileSync('tar', ['-C', join(work, 'top'), '--format=pax', '--numeric-owner', '-cf', join(work, 'top.tar'), '.']);
  writeLayout(
    join(work, 'oci'),
    '1',
    [readFileSync(join(work, 'layer.tar')), readFileSync(join(work, 'top.tar'))],
    { Cmd: ['cat', '/etc/zstd-motd'] },
    { gzip: false },
  );
  const ref = `${registry.host}/test/busybox-zstd:1`;
  const push = skopeo('copy', '--dest-tls-verify=false', '--dest-compress-format', 'zstd', `oci:${join(work, 'oci')}:1`, `docker://${ref}`);
  t.equal(push.status, 0, `skopeo copy: ${push.stderr}`);
  const pull = root.runt(['image', 'pull', ref]);
  t.equal(pull.code, 0, describe(pull));
  const done = JSON.parse(pull.stdout.trim().split('\n').pop() as string) as { digest: string };
  const manifest = JSON.parse(readFileSync(join(STORE, 'blobs/sha256', done.digest.slice(7)), 'utf8')) as {
    layers: Array<{ mediaType: string }>;
  };
  t.same(
    manifest.layers.map((l) => l.mediaType),
    ['application/vnd.oci.image.layer.v1.tar+zstd', 'application/vnd.oci.image.layer.v1.tar+zstd'],
    'both layers are zstd in the registry',
  );
  const run = root.runt(['run', '--image', ref, root.id('zst')]);
  t.equal(run.code, 0, describe(run));
  t.equal(run.stdout, 'from a zstd layer\n', "the image's Cmd runs over the zstd layers");
  t.same(storeFiles('tmp'), [], 'no partial download left');
  t.equal(root.runt(['image', 'rm', ref]).code, 0);
});

t.test('runt pushes, skopeo reads it back; rm and prune collect what nothing uses', async (t) => {
  const root = stateRoot(t);
  const src = `${registry.host}/test/busybox:1`;
  t.equal(root.runt(['image', 'pull', src]).code, 0);
  const dest = `${registry.host}/pushed/by-runt:2`;
  const push = root.runt(['image', 'push', dest, src]);
  t.equal(push.code, 0, describe(push));
  const digest = /sha256:[0-9a-f]{64}/.exec(push.stdout)?.[0];
  const inspect = skopeo('inspect', '--tls-verify=false', `docker://${dest}`);
  t.equal(inspect.status, 0, inspect.stderr);
  t.equal(JSON.parse(inspect.stdout).Digest, digest, 'skopeo sees the manifest runt pushed');
  const dir = mkdtempSync('/tmp/runt-test-skopeo-');
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const copy = skopeo('copy', '--src-tls-verify=false', `docker://${dest}`, `oci:${dir}:x`);
  t.equal(copy.status, 0, `skopeo copies every blob (digests checked): ${copy.stderr}`);

  // export both archive formats: skopeo reads them; import brings them back under a new name.
  for (const format of ['oci-archive', 'docker-archive']) {
    const file = join(dir, `x.${format}`);
    const ex = root.runt(['image', 'export', '--format', format, src, file]);
    t.equal(ex.code, 0, describe(ex));
    const sk = skopeo('inspect', `${format}:${file}`);
    t.equal(sk.status, 0, `skopeo reads the ${format}: ${sk.stderr}`);
    const im = root.runt(['image', 'import', file, `localhost/back/${format}:1`]);
    t.equal(im.code, 0, describe(im));
    t.match(im.stdout, `localhost/back/${format}:1`);
    t.equal(root.runt(['image', 'rm', `localhost/back/${format}:1`]).code, 0);
  }

  // rm of one name keeps the blobs the other name uses; rm of the last one collects them.
  t.equal(root.runt(['image', 'pull', dest]).code, 0);
  const rm1 = root.runt(['image', 'rm', dest]);
  t.equal(rm1.code, 0, describe(rm1));
  t.match(rm1.stdout, /0 blobs, 0 snapshots/);
  const rm2 = root.runt(['image', 'rm', src]);
  t.match(rm2.stdout, /[1-9] blobs, 1 snapshots/);
  t.same(storeFiles('snapshots'), []);
  t.same(readdirSync(join(STORE, 'blobs/sha256')), []);
  const again = root.runt(['image', 'rm', src]);
  t.not(again.code, 0);
  t.match(errorLines(again).join('\n'), /image "[^"]*busybox:1" not found/);
});

t.test('bearer tokens (scope renewed for a push) and basic auth, credentials only where they belong', async (t) => {
  const root = stateRoot(t);
  // The proxies live in this process: runt must run without blocking its event loop.
  const runt = async (args: string[]) => root.runtAsync(args).done;
  const bearer = await startProxy(t, registry.host, { kind: 'bearer' });
  const pull = await runt(['image', 'pull', `${bearer.host}/test/busybox:1`]);
  t.equal(pull.code, 0, describe(pull));
  t.ok(
    bearer.tokenRequests.some((r) => r.scope.includes('repository:test/busybox:pull')),
    'token asked for the pull scope',
  );
  t.ok(
    bearer.log.some((r) => r.auth?.startsWith('Bearer tok')),
    'requests carry the token',
  );
  const push = await runt(['image', 'push', `${bearer.host}/test/pushed:1`, `${bearer.host}/test/busybox:1`]);
  t.equal(push.code, 0, describe(push));
  t.ok(
    bearer.tokenRequests.some((r) => r.scope.includes('repository:test/pushed:pull,push')),
    'a new 401 for push got a token of that scope',
  );

  const withPass = await startProxy(t, registry.host, { kind: 'bearer', user: 'u', password: 'p' });
  const denied = await runt(['image', 'pull', `${withPass.host}/test/busybox:1`]);
  t.not(denied.code, 0);
  t.match(errorLines(denied), [/test\/busybox:1: token server .* answered 401/]);

  const basic = await startProxy(t, registry.host, { kind: 'basic', user: 'alice', password: 's3cret' });
  const ref = `${basic.host}/test/busybox:1`;
  const noCreds = await runt(['image', 'pull', ref]);
  t.not(noCreds.code, 0);
  t.equal(errorLines(noCreds).length, 1);
  t.match(errorLines(noCreds)[0], /busybox:1: registry .* wants a user name and password/);
  t.equal((await runt(['image', 'pull', '--creds', 'alice:s3cret', ref])).code, 0, '--creds');
  const authDir = mkdtempSync('/tmp/runt-test-auth-');
  t.teardown(() => rmSync(authDir, { recursive: true, force: true }));
  writeFileSync(
    join(authDir, 'config.json'),
    JSON.stringify({ auths: { [basic.host]: { auth: Buffer.from('alice:s3cret').toString('base64') } } }),
  );
  t.equal((await runt(['image', 'rm', ref])).code, 0);
  const viaFile = await runt(['image', 'pull', '--authfile', join(authDir, 'config.json'), ref]);
  t.equal(viaFile.code, 0, `--authfile: ${describe(viaFile)}`);
  const wrong = await runt(['image', 'pull', '--creds', 'alice:wrong', `${basic.host}/test/busybox:1`]);
  t.not(wrong.code, 0);
});

t.test('bad registries: unknown image, 500, a hang, a blob that is not what its digest says', async (t) => {
  const root = stateRoot(t);
  // The proxies live in this process: runt must run without blocking its event loop.
  const runt = async (args: string[]) => root.runtAsync(args).done;
  const unknown = await runt(['image', 'pull', `${registry.host}/no/such:image`]);
  t.not(unknown.code, 0);
  t.same(errorLines(unknown), [`image "${registry.host}/no/such:image" not found in registry ${registry.host}`]);
  const unknownRun = await runt(['run', '--image', `${registry.host}/no/such:image`, root.id('x')]);
  t.not(unknownRun.code, 0);
  t.equal(errorLines(unknownRun).length, 1);

  const failing = await startProxy(t, registry.host, { kind: 'fail', status: 500 });
  const r500 = await runt(['image', 'pull', `${failing.host}/test/busybox:1`]);
  t.not(r500.code, 0);
  t.same(errorLines(r500).length, 1);
  t.match(errorLines(r500)[0], /test\/busybox:1: registry 127\.0\.0\.1:\d+ answered 500/);

  const hanging = await startProxy(t, registry.host, { kind: 'hang' });
  const rHang = await runt(['image', 'pull', '--timeout', '2', `${hanging.host}/test/busybox:1`]);
  t.not(rHang.code, 0);
  t.equal(errorLines(rHang).length, 1);
  t.match(errorLines(rHang)[0], /busybox:1: registry .* (timed out|did not answer)/);

  const corrupt = await startProxy(t, registry.host, { kind: 'corrupt-blob' });
  // A store of its own: the blobs are already in the shared one.
  const fresh = mkdtempSync('/tmp/runt-test-images-fresh-');
  t.teardown(() => rmSync(fresh, { recursive: true, force: true }));
  const rBad = await runt(['--store', fresh, 'image', 'pull', `${corrupt.host}/test/busybox:1`]);
  t.not(rBad.code, 0);
  t.equal(errorLines(rBad).length, 1);
  t.match(errorLines(rBad)[0], /blob sha256:[0-9a-f]{64}: digest mismatch/);
  t.same(readdirSync(join(fresh, 'tmp')), [], 'the bad download is not kept');
  t.same(readdirSync(join(fresh, 'blobs/sha256')).length, 1, 'only the config (verified) is stored');
  t.same(JSON.parse(readFileSync(join(fresh, 'index.json'), 'utf8')).manifests, [], 'no image named');

  // The same image from the good registry afterwards: a clean pull.
  const good = await runt(['--store', fresh, 'image', 'pull', `${registry.host}/test/busybox:1`]);
  t.equal(good.code, 0, describe(good));
});

t.test('an interrupted pull resumes with Range; two pulls at once share the store; the library', async (t) => {
  const root = stateRoot(t);
  const runt = async (args: string[]) => root.runtAsync(args).done;
  const fresh = mkdtempSync('/tmp/runt-test-images-resume-');
  t.teardown(() => rmSync(fresh, { recursive: true, force: true }));
  const cutting = await startProxy(t, registry.host, { kind: 'cut-once' });
  const ref = `${cutting.host}/test/busybox:1`;
  const first = await runt(['--store', fresh, 'image', 'pull', '-q', ref]);
  t.not(first.code, 0, 'the cut download fails');
  t.equal(errorLines(first).length, 1);
  t.match(errorLines(first)[0], /blob sha256:[0-9a-f]{64}: download interrupted at \d+ of \d+ bytes/);
  const partial = readdirSync(join(fresh, 'tmp'));
  t.match(partial, [/^[0-9a-f]{64}\.partial$/], 'the partial blob is kept for the next pull');
  const second = await runt(['--store', fresh, 'image', 'pull', '-q', ref]);
  t.equal(second.code, 0, describe(second));
  t.ok(
    cutting.log.some((r) => /^bytes=[1-9]\d*-$/.test(r.range ?? '')),
    'the second pull asked for the rest only (Range)',
  );
  t.same(readdirSync(join(fresh, 'tmp')), [], 'nothing left in tmp');

  // Two runt processes pulling the same image into an empty store at once.
  const both = mkdtempSync('/tmp/runt-test-images-both-');
  t.teardown(() => rmSync(both, { recursive: true, force: true }));
  const [a, b] = await Promise.all([1, 2].map(() => runt(['--store', both, 'image', 'pull', '-q', `${registry.host}/test/busybox:1`])));
  t.equal(a.code, 0, describe(a));
  t.equal(b.code, 0, describe(b));
  t.equal(a.stdout, b.stdout, 'the same digest');
  t.equal(readdirSync(join(both, 'snapshots')).length, 1, 'one snapshot');
  t.same(readdirSync(join(both, 'tmp')), []);

  // The library: rt.images.pull with progress, rt.create(id, { image, args }).
  const { Runtime } = await import('../src/index.js');
  const lib = mkdtempSync('/tmp/runt-test-images-lib-');
  t.teardown(() => rmSync(lib, { recursive: true, force: true }));
  const rt = new Runtime({ root: root.path, store: lib });
  const events: string[] = [];
  const pulled = await rt.images.pull(`${registry.host}/test/busybox:1`, { onProgress: (e) => events.push(e.event) });
  t.match(pulled.digest, /^sha256:/);
  t.ok(events.includes('resolved') && events.includes('done'));
  t.match(await rt.images.list(), [{ name: `${registry.host}/test/busybox:1` }]);
  const id = root.id('lib');
  const c = await rt.create(id, { image: `${registry.host}/test/busybox:1`, args: ['sh', '-c', 'exit 7'], stdio: 'ignore' });
  await c.start();
  t.same(await c.wait(), { code: 7, signal: null });
  await c.delete();
  t.same(readdirSync(join(lib, 'containers')), [], 'delete took the container directory');
  // Where overlayfs cannot be used: a full copy of the layers (forced here with copy: true).
  const cid = root.id('copy');
  const cc = await rt.create(cid, {
    image: `${registry.host}/test/busybox:1`,
    copy: true,
    args: ['sh', '-c', '! grep -q " / / .* overlay " /proc/self/mountinfo && test -x /bin/busybox'],
    stdio: 'ignore',
  });
  t.ok(existsSync(join(lib, 'containers', cid, 'rootfs/bin/busybox')), 'the rootfs is a copy');
  t.notOk(rt.saved(cid).spec.annotations?.['org.runt.image.overlay'], 'no overlay step');
  await cc.start();
  t.same(await cc.wait(), { code: 0, signal: null }, 'no overlay at /, busybox there');
  await cc.delete();
  t.same(readdirSync(join(lib, 'containers')), []);

  // explain --image: the snapshots, the overlay and the step, as JSON.
  const ex = root.runt(['--store', lib, 'explain', '--image', `${registry.host}/test/busybox:1`, '--format', 'json', '--', 'echo', 'x']);
  t.equal(ex.code, 0, describe(ex));
  const doc = JSON.parse(ex.stdout);
  t.match(doc.image, {
    rootfs: { kind: 'overlay', options: /^lowerdir=.*\/snapshots\/[0-9a-f]{64}\/diff,upperdir=/ },
    snapshots: [{ layer: /^sha256:/ }],
  });
  t.ok(
    doc.steps.some((st: { field: string }) => st.field === 'annotations["org.runt.image.overlay"]'),
    'the overlay mount is a step of the plan',
  );
  t.match(doc.image.provenance, [{ image: 'config.Entrypoint' }, { image: 'command-line arguments', value: ['echo', 'x'] }]);
  t.same(readdirSync(join(lib, 'containers')), [], 'explain wrote nothing');

  await t.rejects(rt.create(root.id('lib'), { image: `${registry.host}/no/such:image` }), { code: 'EIMAGE_NOT_FOUND' });
  await t.rejects(rt.images.pull('UPPER'), { code: 'EINVALID_REFERENCE' });
});

t.test(
  "blobs redirected to another host: fetched through Node's HTTP client (the native copy takes only a blob's own bytes)",
  async (t) => {
    const root = stateRoot(t);
    const fresh = mkdtempSync('/tmp/runt-test-images-redirect-');
    t.teardown(() => rmSync(fresh, { recursive: true, force: true }));
    const redirecting = await startProxy(t, registry.host, { kind: 'redirect-blobs' });
    const r = await root.runtAsync(['--store', fresh, 'image', 'pull', `${redirecting.host}/test/busybox:1`]).done;
    t.equal(r.code, 0, describe(r));
    const blobGets = redirecting.log.filter((x) => x.method === 'GET' && /\/blobs\/sha256:/.test(x.path));
    t.ok(blobGets.length >= 2, 'the config and the layer were asked of the proxy (and redirected)');
    t.equal(readdirSync(join(fresh, 'blobs/sha256')).length, 3, 'config, layer and manifest stored');
    t.same(readdirSync(join(fresh, 'tmp')), [], 'nothing left in tmp');
    t.equal(readdirSync(join(fresh, 'snapshots')).length, 1, 'the layer unpacked (its diff_id checked)');
  },
);

t.test(
  'a registry that stops sending mid-blob: the pull gives up after --timeout, keeps the partial blob, and the next pull asks for the rest',
  async (t) => {
    const root = stateRoot(t);
    const fresh = mkdtempSync('/tmp/runt-test-images-stall-');
    t.teardown(() => rmSync(fresh, { recursive: true, force: true }));
    const stall = await startProxy(t, registry.host, { kind: 'stall' });
    const ref = `${stall.host}/test/busybox:1`;
    const first = await root.runtAsync(['--store', fresh, 'image', 'pull', '-q', '--timeout', '1', ref]).done;
    t.not(first.code, 0, 'the stalled download fails');
    t.equal(errorLines(first).length, 1);
    t.match(errorLines(first)[0], /blob sha256:[0-9a-f]{64}: download interrupted at [1-9]\d* of \d+ bytes: no data for 1 s/);
    t.match(readdirSync(join(fresh, 'tmp')), [/^[0-9a-f]{64}\.partial$/], 'the bytes received are kept');
    stall.release();
    const second = await root.runtAsync(['--store', fresh, 'image', 'pull', '-q', ref]).done;
    t.equal(second.code, 0, describe(second));
    t.ok(
      stall.log.some((r) => /^bytes=[1-9]\d*-$/.test(r.range ?? '')),
      'the second pull asked for the rest only (Range)',
    );
    t.same(readdirSync(join(fresh, 'tmp')), [], 'nothing left in tmp');
  },
);

t.test(
  'a pull onto a full disk: one line, the partial blob removed, no image named (a small tmpfs store in a private mount namespace)',
  async (t) => {
    if (!existsSync('/usr/bin/unshare')) return t.skip('no unshare', () => {});
    const work = mkdtempSync('/tmp/runt-test-images-full-');
    t.teardown(() => rmSync(work, { recursive: true, force: true }));
    const small = join(work, 'store');
    mkdirSync(small);
    // The layout and the config fit in 64 KiB, the busybox layer does not: the copy's write fails.
    const script = `mount -t tmpfs -o size=64k runt-test ${small} && "$@" --store ${small} image pull ${registry.host}/test/busybox:1 2>${work}/full.err; echo "rc=$?"; echo "left=$(ls -A ${small}/tmp ${small}/snapshots | grep -v ':$' | grep -c .)"; cat ${small}/index.json`;
    const r = spawnSync(
      'unshare',
      ['--mount', '--propagation', 'private', 'sh', '-c', script, 'sh', process.execPath, join(process.cwd(), 'bin/runt.cjs')],
      {
        encoding: 'utf8',
        env: { ...process.env, NODE_EXTRA_CA_CERTS: '' },
        timeout: 60_000,
      },
    );
    const err = readFileSync(join(work, 'full.err'), 'utf8').trim().split('\n');
    t.match(r.stdout, /rc=[1-9]/, 'non-zero exit');
    t.equal(err.length, 1, `one line: ${err.join(' | ')}`);
    t.match(err[0], /blob sha256:[0-9a-f]{64}: no space left on the store device/);
    t.match(r.stdout, /"manifests":\s*\[\]/, 'no image named');
    t.match(r.stdout, /left=0\n/, 'tmp and snapshots empty');
    t.same(readdirSync(small), [], 'the tmpfs was only in the namespace');
  },
);

t.test('diff_ids are checked when a layer is unpacked: at pull, or at first use after --no-unpack; nothing half-written', async (t) => {
  const root = stateRoot(t);
  const runt = async (args: string[]) => root.runtAsync(args).done;
  // A layer whose compressed digest is right but whose config names another diff_id.
  const work = mkdtempSync('/tmp/runt-test-diffid-');
  t.teardown(() => rmSync(work, { recursive: true, force: true }));
  execFileSync('tar', ['-C', sourceRootfs(), '--format=pax', '--numeric-owner', '-cf', join(work, 'layer.tar'), '.']);
  writeLayout(
    join(work, 'oci'),
    '1',
    [readFileSync(join(work, 'layer.tar'))],
    { Cmd: ['true'] },
    { diffIds: [`sha256:${'1'.repeat(64)}`] },
  );
  const ref = `${registry.host}/test/bad-diffid:1`;
  const push = skopeo('copy', '--dest-tls-verify=false', `oci:${join(work, 'oci')}:1`, `docker://${ref}`);
  t.equal(push.status, 0, push.stderr);
  const mismatch = /layer sha256:[0-9a-f]{64} \(uncompressed, config diff_id\): digest mismatch/;
  const untouched = (store: string, what: string) => {
    t.same(readdirSync(join(store, 'snapshots')), [], `${what}: no snapshot`);
    t.same(readdirSync(join(store, 'tmp')), [], `${what}: nothing in tmp`);
  };

  const s1 = join(work, 'store1');
  const pull = await runt(['--store', s1, 'image', 'pull', '-q', ref]);
  t.not(pull.code, 0, 'a pull that unpacks refuses it');
  t.equal(errorLines(pull).length, 1);
  t.match(errorLines(pull)[0], mismatch);
  untouched(s1, 'pull');
  t.same(JSON.parse(readFileSync(join(s1, 'index.json'), 'utf8')).manifests, [], 'no image named');

  // --no-unpack checks what skopeo checks (every blob against its digest), not the decoded layer:
  // that happens when the layer is first unpacked, and refuses it then.
  const s2 = join(work, 'store2');
  const noUnpack = await runt(['--store', s2, 'image', 'pull', '-q', '--no-unpack', ref]);
  t.equal(noUnpack.code, 0, describe(noUnpack));
  const bundle = await runt(['--store', s2, 'image', 'bundle', ref, join(work, 'bundle')]);
  t.not(bundle.code, 0, 'image bundle refuses it');
  t.equal(errorLines(bundle).length, 1);
  t.match(errorLines(bundle)[0], mismatch);
  t.notOk(existsSync(join(work, 'bundle', 'config.json')), 'no bundle written');
  const run = await runt(['--store', s2, 'run', '--image', ref, root.id('bad')]);
  t.not(run.code, 0, 'run --image refuses it');
  t.equal(errorLines(run).length, 1);
  t.match(errorLines(run)[0], mismatch);
  untouched(s2, 'bundle and run');
  t.same(readdirSync(join(s2, 'containers')), [], 'no container directory');
});

const noOpenssl = !existsSync('/usr/bin/openssl') && 'openssl is not installed (for a self-signed certificate)';
t.test('a loopback registry on HTTPS: the scheme probe does not verify, every real request does', { skip: noOpenssl }, async (t) => {
  const root = stateRoot(t);
  const dir = mkdtempSync('/tmp/runt-test-tls-');
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '1',
      '-subj',
      '/CN=127.0.0.1',
      '-keyout',
      join(dir, 'key.pem'),
      '-out',
      join(dir, 'cert.pem'),
    ],
    {
      stdio: 'ignore',
    },
  );
  const { createServer } = await import('node:https');
  const seen: string[] = [];
  const server = createServer({ key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) }, (req, res) => {
    seen.push(`${req.method} ${req.url} ${req.headers.authorization ?? ''}`.trim());
    res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => new Promise<void>((r) => server.close(() => r())));
  const host = `127.0.0.1:${(server.address() as { port: number }).port}`;
  const pull = await root.runtAsync(['image', 'pull', '--creds', 'user:secret', `${host}/test/busybox:1`]).done;
  t.not(pull.code, 0, 'refused');
  t.equal(errorLines(pull).length, 1);
  t.match(errorLines(pull)[0], new RegExp(`registry ${host.replace(/\./g, '\\.')}: .*self.signed certificate`), 'the certificate is named');
  t.same(seen, ['GET /v2/'], 'only the probe reached the server: no manifest request, no credentials');
});

t.test(
  'HTTPS with a CA runt is told of (NODE_EXTRA_CA_CERTS, beside the system bundle): a cut download resumes with Range, every blob verified; a corrupt blob is refused',
  { skip: noOpenssl },
  async (t) => {
    const root = stateRoot(t);
    const dir = mkdtempSync('/tmp/runt-test-tls-ca-');
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    const made = makeTestCa(dir, 'runt test CA', ['IP:127.0.0.1']);
    const tls = { key: readFileSync(made.key), cert: readFileSync(made.cert) };
    const withCa = { wrapper: ['env', `NODE_EXTRA_CA_CERTS=${made.ca}`] };
    // A layer of 3 MB of random bytes: several of the batches the addon hashes and writes.
    writeLayout(join(dir, 'oci'), '1', [tarBuffer([{ name: 'big', type: 'file', mode: 0o644, data: randomBytes(3 << 20) }])], {
      Cmd: ['true'],
    });
    const push = skopeo('copy', '--dest-tls-verify=false', `oci:${join(dir, 'oci')}:1`, `docker://${registry.host}/test/tls-big:1`);
    t.equal(push.status, 0, push.stderr);
    const verified = (store: string) => {
      const blobs = join(store, 'blobs/sha256');
      return readdirSync(blobs).every(
        (name) =>
          process
            .getBuiltinModule('node:crypto')
            .createHash('sha256')
            .update(readFileSync(join(blobs, name)))
            .digest('hex') === name,
      );
    };

    const cutting = await startProxy(t, registry.host, { kind: 'cut-once' }, tls);
    const store = mkdtempSync('/tmp/runt-test-images-tls-');
    t.teardown(() => rmSync(store, { recursive: true, force: true }));
    const pull = () =>
      root.runtAsync(['--store', store, 'image', 'pull', '-q', '--no-unpack', `${cutting.host}/test/tls-big:1`], withCa).done;
    const first = await pull();
    t.not(first.code, 0, 'the cut download fails');
    t.equal(errorLines(first).length, 1);
    t.match(errorLines(first)[0], /blob sha256:[0-9a-f]{64}: download interrupted at \d+ of \d+ bytes/);
    t.match(readdirSync(join(store, 'tmp')), [/^[0-9a-f]{64}\.partial$/], 'the partial blob is kept');
    const second = await pull();
    t.equal(second.code, 0, describe(second));
    t.ok(
      cutting.log.some((r) => /^bytes=[1-9]\d*-$/.test(r.range ?? '')),
      'the second pull asked for the rest only (Range)',
    );
    t.same(readdirSync(join(store, 'tmp')), [], 'nothing left in tmp');
    t.ok(verified(store), "every stored blob's bytes hash to its name");
    t.equal(readdirSync(join(store, 'blobs/sha256')).length, 3, 'manifest, config and layer');

    const corrupt = await startProxy(t, registry.host, { kind: 'corrupt-blob' }, tls);
    const bad = mkdtempSync('/tmp/runt-test-images-tls-bad-');
    t.teardown(() => rmSync(bad, { recursive: true, force: true }));
    const r = await root.runtAsync(['--store', bad, 'image', 'pull', '-q', '--no-unpack', `${corrupt.host}/test/tls-big:1`], withCa).done;
    t.not(r.code, 0, 'refused');
    t.equal(errorLines(r).length, 1);
    t.match(errorLines(r)[0], /blob sha256:[0-9a-f]{64}: digest mismatch/);
    t.same(readdirSync(join(bad, 'tmp')), [], 'the bad download is not kept');
    t.ok(verified(bad), 'what is stored is verified');
    t.same(JSON.parse(readFileSync(join(bad, 'index.json'), 'utf8')).manifests, [], 'no image named');
  },
);

t.test('two pulls at once into one store: different images do not wait for each other; a shared blob is fetched once', async (t) => {
  const root = stateRoot(t);
  const work = mkdtempSync('/tmp/runt-test-concurrent-');
  t.teardown(() => rmSync(work, { recursive: true, force: true }));
  // Another image: one layer of its own (nothing shared with test/busybox:1).
  writeLayout(join(work, 'oci'), '1', [tarBuffer([{ name: 'other', type: 'file', mode: 0o644, data: randomBytes(200_000) }])], {
    Cmd: ['true'],
  });
  const other = `${registry.host}/test/other:1`;
  const push = skopeo('copy', '--dest-tls-verify=false', `oci:${join(work, 'oci')}:1`, `docker://${other}`);
  t.equal(push.status, 0, push.stderr);

  // Pull A stalls halfway through its layer (the proxy holds the rest) with the store's lock held.
  const stall = await startProxy(t, registry.host, { kind: 'stall' });
  t.teardown(() => stall.release());
  const store = join(work, 'store');
  const a = root.runtAsync(['--store', store, 'image', 'pull', '-q', `${stall.host}/test/busybox:1`], { timeoutMs: 90_000 });
  await stall.stalled;
  const b = await root.runtAsync(['--store', store, 'image', 'pull', '-q', other], { timeoutMs: 60_000 }).done;
  t.equal(b.code, 0, `the other image's pull finished while the first one was held (${describe(b)})`);
  let aDone = false;
  void a.done.then(() => (aDone = true));
  await new Promise((r) => setImmediate(r));
  t.notOk(aDone, 'the first pull was still held then');
  // A third pull of the same image from the registry itself needs the blob A is fetching: it waits
  // for A's download rather than writing the same partial file, and finds the blob afterwards.
  const c = root.runtAsync(['--store', store, 'image', 'pull', '-q', `${registry.host}/test/busybox:1`], { timeoutMs: 90_000 });
  await new Promise((r) => setTimeout(r, 500));
  stall.release();
  const [ra, rc] = await Promise.all([a.done, c.done]);
  t.equal(ra.code, 0, describe(ra));
  t.equal(rc.code, 0, describe(rc));
  t.equal(ra.stdout, rc.stdout, 'the same manifest digest');
  const layerGets = stall.log.filter((r) => r.method === 'GET' && /\/blobs\/sha256:/.test(r.path));
  t.ok(layerGets.length >= 1, 'A fetched its blobs through the proxy');
  t.same(readdirSync(join(store, 'tmp')), [], 'nothing left in tmp');
  const names = (
    JSON.parse(readFileSync(join(store, 'index.json'), 'utf8')) as { manifests: Array<{ annotations: Record<string, string> }> }
  ).manifests
    .map((m) => m.annotations['org.opencontainers.image.ref.name'])
    .sort();
  t.same(
    names,
    [`${registry.host}/test/busybox:1`, other, `${stall.host}/test/busybox:1`].sort(),
    'all three names kept (index.json written under its own lock)',
  );
  const bb = root.runt(['--store', store, 'image', 'bundle', `${registry.host}/test/busybox:1`, join(work, 'bundle')]);
  t.equal(bb.code, 0, describe(bb));
  t.ok(existsSync(join(work, 'bundle', 'rootfs', 'bin', 'busybox')), 'the shared layer is whole');
});
