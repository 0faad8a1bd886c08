// Volumes of containers made from an image: the image's declared Volumes become anonymous volumes
// filled from the image's content (read through the overlay the init mounts) and removed with the
// container; a named volume mounted at an image path is filled from the image the same way. The
// image is served by Debian's docker-registry on loopback (pushed there with skopeo from an OCI
// layout the test writes), both stopped by pid.
import t from 'tap';
import { spawn, spawnSync } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  copyFileSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { describe, sourceRootfs, stateRoot } from './helpers/index.js';
import { rootfsLayer } from '../bench/busybox-image.js';
import { writeLayout } from './helpers/oci-layout.js';

const missing = ['/usr/bin/docker-registry', '/usr/bin/skopeo'].find((p) => !existsSync(p));
if (missing) {
  t.plan(0, `skip: ${missing} is not installed`);
  process.exit(0);
}

const STORE = mkdtempSync('/tmp/runt-test-store-');
process.env.RUNT_STORE = STORE;
const work = mkdtempSync('/tmp/runt-test-volimg-');
t.teardown(() => {
  rmSync(STORE, { recursive: true, force: true });
  rmSync(work, { recursive: true, force: true });
});

/** An OCI layout: the busybox rootfs plus /data (a file of uid 1000, mode 640; a symlink out), Volumes ["/data"]. */
function writeDataImage(dir: string): void {
  const rootfs = join(work, 'rootfs');
  spawnSync('cp', ['-a', sourceRootfs(), rootfs]);
  mkdirSync(join(rootfs, 'data/sub'), { recursive: true });
  writeFileSync(join(rootfs, 'data/seed.txt'), 'seed-from-image\n');
  chownSync(join(rootfs, 'data/seed.txt'), 1000, 1001);
  chmodSync(join(rootfs, 'data/seed.txt'), 0o640);
  symlinkSync('/etc/shadow', join(rootfs, 'data/link'));
  writeLayout(
    dir,
    'latest',
    [rootfsLayer(rootfs)],
    { Env: ['PATH=/usr/sbin:/usr/bin:/sbin:/bin'], Cmd: ['sh', '-c', 'cat /data/seed.txt'], Volumes: { '/data': {} } },
    { gzip: false },
  );
}

async function startRegistry(): Promise<string> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise((r) => s.close(r));
  writeFileSync(
    join(work, 'reg.yml'),
    `version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: ${work}/reg\nhttp:\n  addr: 127.0.0.1:${port}\n`,
  );
  const child = spawn('/usr/bin/docker-registry', ['serve', join(work, 'reg.yml')], { stdio: 'ignore' });
  t.teardown(() => {
    try {
      process.kill(child.pid!, 'SIGKILL');
    } catch {
      /* gone */
    }
  });
  const host = `127.0.0.1:${port}`;
  for (let i = 0; i < 100; i++) {
    const ok = await new Promise<boolean>((resolve) => {
      const req = request(`http://${host}/v2/`, (res) => {
        res.resume();
        resolve(res.statusCode === 200);
      });
      req.on('error', () => resolve(false));
      req.end();
    });
    if (ok) return host;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('docker-registry did not start');
}

const host = await startRegistry();
writeDataImage(join(work, 'layout'));
const push = spawnSync(
  'skopeo',
  ['copy', '--dest-tls-verify=false', `oci:${join(work, 'layout')}:latest`, `docker://${host}/volimg:latest`],
  { encoding: 'utf8' },
);
if (push.status !== 0) throw new Error(`skopeo: ${push.stderr}`);
const IMAGE = `${host}/volimg:latest`;
const volumes = () => (existsSync(join(STORE, 'volumes')) ? readdirSync(join(STORE, 'volumes')) : []);

t.test('an image Volume is an anonymous volume filled from the image, removed with the container', async (t) => {
  const root = stateRoot(t);
  const id = root.id('volimg');
  const c = root.runt(['create', '--image', IMAGE, id], { stdoutFile: join(work, 'c.out'), stderrFile: join(work, 'c.err') });
  t.equal(c.code, 0, describe(c));
  const anon = volumes();
  t.equal(anon.length, 1, 'one anonymous volume');
  t.match(anon[0], /^anon-/);
  t.equal(root.runt(['start', id]).code, 0);
  await root.waitStopped(id);
  const data = join(STORE, 'volumes', anon[0], '_data');
  t.equal(readFileSync(join(data, 'seed.txt'), 'utf8'), 'seed-from-image\n', 'copied from the image');
  const st = statSync(join(data, 'seed.txt'));
  t.same([st.uid, st.gid, st.mode & 0o7777], [1000, 1001, 0o640], 'owner and mode kept');
  t.ok(lstatSync(join(data, 'link')).isSymbolicLink(), 'the symlink copied as one');
  t.equal(readFileSync(join(work, 'c.out'), 'utf8'), 'seed-from-image\n');
  t.equal(root.runt(['delete', id]).code, 0);
  t.same(volumes(), [], 'removed with the container');
});

t.test('a named volume at an image path is filled from the image; -v replaces the anonymous one', async (t) => {
  const root = stateRoot(t);
  const r = root.runt(['run', '--image', IMAGE, '-v', 'named:/data', root.id('volimg-named')]);
  t.equal(r.code, 0, describe(r));
  t.equal(r.stdout, 'seed-from-image\n');
  t.same(volumes(), ['named'], 'no anonymous volume besides it');
  t.equal(readFileSync(join(STORE, 'volumes/named/_data/seed.txt'), 'utf8'), 'seed-from-image\n');
  copyFileSync('/dev/null', join(STORE, 'volumes/named/_data/seed.txt'));
  const again = root.runt(['run', '--image', IMAGE, '-v', 'named:/data', root.id('volimg-named')]);
  t.equal(again.stdout, '', 'the volume keeps what the container left, not the image');
});
