// Images, the parts without a registry or a container: Docker's reference normalisation, the tar
// reader (pax, GNU long names, base-256 numbers, binary xattrs) against the writer and GNU tar,
// platform choice, User resolution, and the image config → runtime config rules of conversion.md.
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseReference, formatReference, familiarName, isLoopbackHost } from '../src/image/reference.js';
import { readTar, type TarEntry } from '../src/image/tar.js';
import { tarBuffer } from '../src/image/tar-writer.js';
import { selectManifest, parsePlatform } from '../src/image/platform.js';
import { resolveUser } from '../src/image/user.js';
import { imageToSpec } from '../src/image/convert.js';
import { chainIds, sha256 } from '../src/image/digest.js';
import { parseChallenge } from '../src/image/credentials.js';
import { cleanName } from '../src/image/unpack.js';
import { MINOR_EVERY, streamed } from '../src/image/reclaim.js';
import { bodyPlacement, parseHead } from '../src/image/fast-blob.js';

t.test('references are normalised as Docker does', async (t) => {
  const cases: Array<[string, string]> = [
    ['busybox', 'docker.io/library/busybox:latest'],
    ['busybox:1.36', 'docker.io/library/busybox:1.36'],
    ['library/busybox', 'docker.io/library/busybox:latest'],
    ['docker.io/busybox', 'docker.io/library/busybox:latest'],
    ['index.docker.io/library/busybox:1', 'docker.io/library/busybox:1'],
    ['user/app:v2', 'docker.io/user/app:v2'],
    ['localhost/app', 'localhost/app:latest'],
    ['localhost:5000/a/b/c:tag', 'localhost:5000/a/b/c:tag'],
    ['127.0.0.1:5000/x', '127.0.0.1:5000/x:latest'],
    ['quay.io/org/img@sha256:' + 'a'.repeat(64), 'quay.io/org/img@sha256:' + 'a'.repeat(64)],
    ['ghcr.io/o/i:t@sha256:' + 'b'.repeat(64), 'ghcr.io/o/i:t@sha256:' + 'b'.repeat(64)],
    ['[::1]:5000/img', '[::1]:5000/img:latest'],
    ['a_b__c-d.e', 'docker.io/library/a_b__c-d.e:latest'],
  ];
  for (const [input, want] of cases) t.equal(formatReference(parseReference(input)), want, input);
  t.equal(familiarName(parseReference('busybox')), 'busybox:latest');
  for (const bad of [
    '',
    'UPPER/case',
    'a:b:c',
    'x@sha256:abc',
    'x@md5:' + 'a'.repeat(32),
    'a//b',
    '-a',
    'a:' + 't'.repeat(129),
    'host:port:5/x',
  ]) {
    t.throws(() => parseReference(bad), { code: 'EINVALID_REFERENCE' }, `refused: ${JSON.stringify(bad)}`);
  }
  t.ok(isLoopbackHost('localhost:5000') && isLoopbackHost('127.1.2.3:80') && isLoopbackHost('[::1]:5000'));
  t.notOk(isLoopbackHost('128.0.0.1') || isLoopbackHost('localhost.example.com') || isLoopbackHost('docker.io'));
});

async function entries(buf: Buffer): Promise<Array<TarEntry & { data: Buffer }>> {
  const out: Array<TarEntry & { data: Buffer }> = [];
  async function* src() {
    for (let i = 0; i < buf.length; i += 777) yield buf.subarray(i, i + 777);
  }
  for await (const { entry, body } of readTar(src())) {
    const chunks: Buffer[] = [];
    for await (const c of body) chunks.push(c);
    out.push({ ...entry, data: Buffer.concat(chunks) });
  }
  return out;
}

t.test('tar: long names, binary xattrs, devices, links, round trip through reader and writer', async (t) => {
  const cap = Buffer.from([0x01, 0x00, 0x00, 0x02, 0x00, 0x20, 0x00, 0x00, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
  const long = `${'d'.repeat(120)}/${'f'.repeat(150)}`;
  const buf = tarBuffer([
    { name: 'dir/', type: 'dir', mode: 0o755 },
    {
      name: long,
      type: 'file',
      mode: 0o4755,
      uid: 1000,
      gid: 3000000,
      data: 'x'.repeat(1000),
      xattrs: { 'security.capability': cap, 'user.k': 'v\0w' },
    },
    { name: 'dir/link', type: 'link', linkname: long },
    { name: 'dir/sym', type: 'symlink', linkname: '/'.repeat(3) + 'l'.repeat(130) },
    { name: 'null', type: 'char', mode: 0o666, devmajor: 1, devminor: 3 },
    { name: 'fifo', type: 'fifo', mode: 0o600 },
  ]);
  const got = await entries(buf);
  t.same(
    got.map((e) => e.type),
    ['dir', 'file', 'link', 'symlink', 'char', 'fifo'],
  );
  t.equal(got[1].name, long, 'pax path');
  t.equal(got[1].mode, 0o4755, 'setuid kept');
  t.equal(got[1].gid, 3000000, 'pax gid above the octal field');
  t.equal(got[1].data.length, 1000);
  t.same(got[1].xattrs.get('security.capability'), cap, 'binary xattr byte for byte');
  t.same(got[1].xattrs.get('user.k'), Buffer.from('v\0w'), 'NUL inside a value');
  t.equal(got[2].linkname, long);
  t.equal(got[3].linkname.length, 133, 'pax linkpath');
  t.same([got[4].devmajor, got[4].devminor], [1, 3]);
});

t.test('tar: GNU tar output (long names as ././@LongLink, --xattrs) reads the same', async (t) => {
  const dir = mkdtempSync('/tmp/runt-test-tar-');
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const long = 'n'.repeat(180);
  mkdirSync(join(dir, 'src'));
  writeFileSync(join(dir, 'src', long), 'hello');
  for (const format of ['gnu', 'pax']) {
    execFileSync('tar', ['-C', join(dir, 'src'), `--format=${format}`, '-cf', join(dir, `${format}.tar`), '.']);
    const got = await entries(readFileSync(join(dir, `${format}.tar`)));
    const f = got.find((e) => e.name.endsWith(long));
    t.ok(f, `${format}: the long name is whole`);
    t.equal(f?.data.toString(), 'hello');
  }
});

t.test('tar: a corrupt header or a cut archive is an error, not a silent end', async (t) => {
  const buf = tarBuffer([{ name: 'a', type: 'file', data: 'y'.repeat(2000) }]);
  const bad = Buffer.from(buf);
  bad[10] ^= 0xff;
  await t.rejects(entries(bad), /checksum/);
  await t.rejects(entries(buf.subarray(0, 1024)), /unexpected end/);
});

t.test('entry names: .. is refused wherever it is', async (t) => {
  t.same(cleanName('./a/./b/'), ['a', 'b']);
  t.same(cleanName('/abs/x'), ['abs', 'x']);
  for (const bad of ['../x', 'a/../../x', 'a/..', '..']) t.throws(() => cleanName(bad), /path traversal/);
});

t.test('platform choice from an index skips attestations and checks variants', async (t) => {
  const d = (os: string, architecture: string, variant?: string, ann?: Record<string, string>) => ({
    mediaType: 'x',
    digest: `sha256:${os}${architecture}${variant ?? ''}`,
    size: 1,
    platform: { os, architecture, ...(variant ? { variant } : {}) },
    annotations: ann,
  });
  const list = [
    d('unknown', 'unknown', undefined, { 'vnd.docker.reference.type': 'attestation-manifest' }),
    d('linux', 'arm', 'v6'),
    d('linux', 'arm', 'v7'),
    d('linux', 'arm64', 'v8'),
    d('linux', 'amd64'),
  ];
  t.equal(selectManifest(list, parsePlatform('linux/amd64'), 'r').digest, 'sha256:linuxamd64');
  t.equal(selectManifest(list, parsePlatform('linux/arm/v7'), 'r').digest, 'sha256:linuxarmv7');
  t.equal(selectManifest(list, parsePlatform('linux/arm64'), 'r').digest, 'sha256:linuxarm64v8');
  t.throws(() => selectManifest(list, parsePlatform('linux/s390x'), 'r'), {
    code: 'EIMAGE_NOT_FOUND',
    message: /linux\/s390x.*offers linux\/arm\/v6/,
  });
  t.throws(() => parsePlatform('linux'), { code: 'EINVALID_REFERENCE' });
});

t.test("User from the image's passwd and group", async (t) => {
  const passwd = 'root:x:0:0::/root:/bin/sh\napp:x:1000:1001::/home/app:/bin/sh\n';
  const group = 'root:x:0:\napp:x:1001:\nextra:x:2000:app,other\nwheel:x:10:other\n';
  t.same(resolveUser(undefined, passwd, group, 'i'), { uid: 0, gid: 0 });
  t.same(resolveUser('app', passwd, group, 'i'), { uid: 1000, gid: 1001, additionalGids: [2000] });
  t.same(resolveUser('1000', passwd, group, 'i'), { uid: 1000, gid: 1001, additionalGids: [2000] });
  t.same(resolveUser('4242', passwd, group, 'i'), { uid: 4242, gid: 0 }, 'a uid the image does not know: gid 0, as Docker');
  t.same(resolveUser('app:wheel', passwd, group, 'i'), { uid: 1000, gid: 10, additionalGids: [2000] });
  t.same(resolveUser('4242:77', undefined, undefined, 'i'), { uid: 4242, gid: 77 });
  t.throws(() => resolveUser('nobody', passwd, group, 'img'), /img.*no user "nobody"/);
  t.throws(() => resolveUser('app:nogroup', passwd, group, 'img'), /no group "nogroup"/);
});

t.test('conversion.md: Entrypoint, Cmd, Env, WorkingDir, StopSignal, Labels, Volumes', async (t) => {
  const config = {
    os: 'linux',
    architecture: 'amd64',
    rootfs: { type: 'layers' as const, diff_ids: [] },
    config: {
      Entrypoint: ['/ep'],
      Cmd: ['a', 'b'],
      Env: ['A=1', 'PATH=/x'],
      WorkingDir: '/w',
      StopSignal: 'SIGQUIT',
      Labels: { l: 'v' },
      Volumes: { '/data': {} },
      ExposedPorts: { '80/tcp': {} },
    },
  };
  const base = { name: 'img', digest: 'sha256:0', rootfs: '/r', volumeDir: (_: string, i: number) => `/vol/${i}` };
  const conv = (o = {}) => imageToSpec(config, { ...base, ...o }).spec;
  t.same(conv().process?.args, ['/ep', 'a', 'b']);
  t.same(conv({ args: ['c'] }).process?.args, ['/ep', 'c'], 'args replace Cmd');
  t.same(conv({ entrypoint: ['/other'] }).process?.args, ['/other'], '--entrypoint drops Cmd');
  t.same(conv({ entrypoint: ['/other'], args: ['x'] }).process?.args, ['/other', 'x']);
  t.same(conv({ entrypoint: [], args: ['sh'] }).process?.args, ['sh'], 'an empty entrypoint');
  t.same(conv({ env: ['A=2', 'B=3'] }).process?.env, ['A=2', 'PATH=/x', 'B=3'], 'Env, overridden by name');
  const s = conv();
  t.equal(s.process?.cwd, '/w');
  t.equal(s.annotations?.['org.opencontainers.image.stopSignal'], 'SIGQUIT');
  t.equal(s.annotations?.l, 'v', 'labels become annotations');
  t.equal(s.annotations?.['org.opencontainers.image.exposedPorts'], '80/tcp');
  t.match(
    s.mounts?.find((m) => m.destination === '/data'),
    { type: 'bind', source: '/vol/0' },
  );
  t.equal(s.root?.path, '/r');
  t.throws(() => imageToSpec({ ...config, config: {} }, base), /no Entrypoint or Cmd/);
});

t.test('chain ids, digests and challenges', async (t) => {
  const a = sha256('a');
  const b = sha256('b');
  t.same(chainIds([a, b]), [a, sha256(`${a} ${b}`)]);
  t.same(
    parseChallenge('Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull"'),
    {
      scheme: 'bearer',
      params: { realm: 'https://auth.docker.io/token', service: 'registry.docker.io', scope: 'repository:library/busybox:pull' },
    },
  );
  t.same(parseChallenge('Basic realm="x"'), { scheme: 'basic', params: { realm: 'x' } });
});

t.test('reclaim: dead stream buffers are freed as bytes stream by, without a global gc()', async (t) => {
  // 64 chunks of 1 MB, each dead once the next comes, as a blob's chunks are. Left to V8, ~32 MB of
  // them would be outstanding before its first scavenge; streamed() keeps that to a few.
  const base = process.memoryUsage().arrayBuffers;
  let most = 0;
  let chunk: Buffer | undefined;
  for (let i = 0; i < 64; i++) {
    chunk = Buffer.alloc(MINOR_EVERY, i);
    streamed(chunk.length);
    most = Math.max(most, process.memoryUsage().arrayBuffers - base);
  }
  t.ok(chunk && chunk[0] === 63);
  t.ok(most < 8 * MINOR_EVERY, `at most ${(most / MINOR_EVERY).toFixed(1)} MB of chunks outstanding`);
  t.equal((globalThis as { gc?: unknown }).gc, undefined, 'no gc() left on the global object');
});

t.test('direct blob download: only a response that is the blob itself is copied natively', async (t) => {
  const head = (text: string) => parseHead(Buffer.from(`${text.replace(/\n/g, '\r\n')}\r\n\r\n`, 'latin1'));
  const ok = head('HTTP/1.1 200 OK\nContent-Length: 1234\nContent-Type: application/octet-stream\nX-A: 1\nx-a: 2');
  t.equal(ok?.status, 200);
  t.equal(ok?.headers.get('x-a'), '1, 2', 'repeated headers joined');
  t.same(bodyPlacement(ok!, 0), { start: 0, length: 1234 });
  t.same(bodyPlacement(ok!, 500), { start: 0, length: 1234 }, 'a 200 to a Range request: the whole blob again');
  t.same(bodyPlacement(head('HTTP/1.1 206 Partial Content\nContent-Length: 734\nContent-Range: bytes 500-1233/1234')!, 500), {
    start: 500,
    length: 734,
  });
  t.equal(
    bodyPlacement(head('HTTP/1.1 206 Partial Content\nContent-Length: 734\nContent-Range: bytes 400-1133/1234')!, 500),
    null,
    'another range',
  );
  t.equal(bodyPlacement(head('HTTP/1.1 206 Partial Content\nContent-Length: 734\nContent-Range: bytes 0-733/1234')!, 0), null);
  t.equal(bodyPlacement(head('HTTP/1.1 200 OK\nTransfer-Encoding: chunked')!, 0), null, 'chunked: the Node path');
  t.equal(bodyPlacement(head('HTTP/1.1 200 OK\nContent-Length: 10\nContent-Encoding: gzip')!, 0), null, 'a content coding');
  t.equal(bodyPlacement(head('HTTP/1.1 200 OK\nContent-Length: -1')!, 0), null);
  for (const status of [301, 307, 401, 404, 416, 500])
    t.equal(bodyPlacement(head(`HTTP/1.1 ${status} X\nContent-Length: 10`)!, 0), null, `${status}: the registry client's policy`);
  t.equal(parseHead(Buffer.from('SSH-2.0-OpenSSH\r\n\r\n')), null, 'not HTTP');
  t.equal(parseHead(Buffer.from('HTTP/1.1 200 OK\r\nno colon here\r\n\r\n')), null, 'a broken header line');
});
