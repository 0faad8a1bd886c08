// The shim's native front (csrc/shim_front.cc, build/Release/containerd-shim-runt-v2) run as
// containerd runs it, without containerd: `delete` answers with the DeleteResponse the shim left in
// the bundle, and leaves it to Node otherwise; `start` reports the address Node gives on its pipe,
// or Node's error, while the Node process becomes the shim.
import t, { type Test } from 'tap';
import { spawn, spawnSync } from 'node:child_process';
import net from 'node:net';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO, waitFor } from './helpers/index.js';
import { decode } from '../src/shim/proto.js';
import { deleteResponse, DELETE_RESPONSE_FILE } from '../src/shim/cleanup.js';
import { sharedSocketAddress, socketAddress, socketPath } from '../src/shim/address.js';
import { claimHandler, FRONT_SERVICE } from '../src/shim/claim.js';
import { TtrpcServer } from '../src/shim/ttrpc-server.js';
import { CODE, StatusError } from '../src/shim/ttrpc-status.js';
import { parseShimArgs } from '../src/shim/args.js';
import { holdContainerdLock } from './helpers/containerd-lock.js';
import { removeEmptyTreesPatiently } from '../bench/empty-dirs.js';

const FRONT = join(REPO, 'build/Release/containerd-shim-runt-v2');

function front(
  args: string[],
  cwd: string,
  extraEnv: Record<string, string> = {},
): { code: number | null; stdout: Buffer; stderr: string } {
  const env = { ...process.env, ...extraEnv };
  delete env.NODE_OPTIONS;
  const r = spawnSync(FRONT, args, { cwd, env, timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr.toString() };
}

/** front() that lets this process's event loop run meanwhile (a server of the test's answers). */
function frontAsync(args: string[], cwd: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const env = { ...process.env };
  delete env.NODE_OPTIONS;
  return new Promise((resolve, reject) => {
    const p = spawn(FRONT, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let [stdout, stderr] = ['', ''];
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    p.on('error', reject);
    p.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Processes whose command line holds `marker` (the shim the front started), by pid. */
function pidsWith(marker: string): number[] {
  return readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .map(Number)
    .filter((p) => {
      try {
        return readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(marker);
      } catch {
        return false;
      }
    });
}

if (!existsSync(FRONT)) {
  t.skip(`${FRONT} is not built (npx node-gyp build)`, () => {});
} else {
  // The shims `start` makes listen under /run/containerd/s, as under containerd: the directories
  // this file makes there are removed at the end, with the other containerd files kept out meanwhile.
  await holdContainerdLock(t);
  const runDirs = ['/run/containerd/s', '/run/containerd'].filter((d) => !existsSync(d));
  t.teardown(() => removeEmptyTreesPatiently(runDirs));
  const dir = mkdtempSync('/tmp/runt-shim-front-');
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const bundle = join(dir, 'bundle');
  mkdirSync(bundle);
  const ns = `front-test-${process.pid}`;

  t.test('delete: the response the shim left, else Node looks for itself', async (t) => {
    const left = deleteResponse(4242, 3, 1_700_000_000_250);
    writeFileSync(join(bundle, DELETE_RESPONSE_FILE), left, { mode: 0o600 });
    const r = front(['-namespace', ns, '-id', 'c1', '-address', join(dir, 'ctd.sock'), '-bundle', bundle, 'delete'], dir);
    t.equal(r.code, 0, r.stderr);
    t.same([...r.stdout], [...left], 'the bytes the shim left');
    t.notOk(existsSync(join(bundle, DELETE_RESPONSE_FILE)), 'and the file is removed');

    const again = front(['-namespace', ns, '-id', 'c1', '-address', join(dir, 'ctd.sock'), 'delete'], bundle);
    t.equal(again.code, 0, again.stderr);
    t.match(decode('containerd.task.v2.DeleteResponse', again.stdout), { pid: 0, exit_status: 137 }, 'none left: Node answers, killed');

    const target = join(dir, 'not-a-response');
    writeFileSync(target, left);
    symlinkSync(target, join(bundle, DELETE_RESPONSE_FILE));
    const link = front(['-namespace', ns, '-id', 'c1', '-address', join(dir, 'ctd.sock'), 'delete'], bundle);
    t.match(decode('containerd.task.v2.DeleteResponse', link.stdout), { exit_status: 137 }, 'a symlink is not followed');
    t.ok(existsSync(target), 'and what it points at is untouched');
    rmSync(join(bundle, DELETE_RESPONSE_FILE));
  });

  t.test('start: the address from the Node process, which becomes the shim; errors as Node gives them', async (t) => {
    const noConfig = front(
      ['-namespace', ns, '-id', 'c2', '-address', join(dir, 'ctd.sock'), '-publish-binary', '/bin/true', 'start'],
      bundle,
    );
    t.equal(noConfig.code, 1);
    t.match(noConfig.stderr, /containerd-shim-runt-v2 start: .*config\.json/, 'a bundle without config.json: Node says so');
    t.equal(noConfig.stdout.length, 0, 'and no address');

    const id = `c3-${process.pid}`;
    writeFileSync(join(bundle, 'config.json'), JSON.stringify({ ociVersion: '1.2.0', annotations: {} }));
    const r = front(['-namespace', ns, '-id', id, '-address', join(dir, 'ctd.sock'), '-publish-binary', '/bin/true', 'start'], bundle, {
      RUNT_SHIM_SHARE: '0',
    });
    const pids = pidsWith(`-id\0${id}\0`);
    t.teardown(() => {
      for (const pid of pidsWith(`-id\0${id}\0`)) process.kill(pid, 'SIGKILL');
    });
    t.equal(r.code, 0, r.stderr);
    const address = r.stdout.toString();
    t.equal(address, socketAddress(ctd, ns, id), "the address of the container's own shim (RUNT_SHIM_SHARE=0), alone on stdout");
    t.equal(readFileSync(join(bundle, 'address'), 'utf8'), address, 'and in the bundle for containerd');
    t.equal(pids.length, 1, 'one process serves: the Node the front started');
    t.ok(existsSync(socketPath(address)), 'listening');
    // A shim with no task ends on SIGTERM and removes its socket.
    process.kill(pids[0], 'SIGTERM');
    await waitFor('the shim to exit', () => pidsWith(`-id\0${id}\0`).length === 0, 30_000);
    t.notOk(existsSync(socketPath(address)), 'its socket removed');
  });

  t.test('a shim whose Create never comes exits once it has had no client for the idle timeout', async (t) => {
    const id = `c4-${process.pid}`;
    const r = front(['-namespace', ns, '-id', id, '-address', join(dir, 'ctd.sock'), '-publish-binary', '/bin/true', 'start'], bundle, {
      RUNT_SHIM_IDLE_TIMEOUT: '1',
      RUNT_SHIM_SHARE: '0',
    });
    t.teardown(() => {
      for (const pid of pidsWith(`-id\0${id}\0`)) process.kill(pid, 'SIGKILL');
    });
    t.equal(r.code, 0, r.stderr);
    const path = socketPath(r.stdout.toString());
    const [pid] = pidsWith(`-id\0${id}\0`);
    t.ok(pid, 'the shim runs');
    // A connected client (containerd, between start and Create) keeps it.
    const client = net.connect(path);
    await new Promise((resolve, reject) => client.once('connect', resolve).once('error', reject));
    await new Promise((resolve) => setTimeout(resolve, 2500));
    t.same(pidsWith(`-id\0${id}\0`), [pid], 'still there with a client connected, past the timeout');
    client.destroy();
    await waitFor('the idle shim to exit', () => pidsWith(`-id\0${id}\0`).length === 0, 30_000);
    t.same(pidsWith(`-id\0${id}\0`), [], 'gone once no client is left');
    t.notOk(existsSync(path), 'its socket removed');
  });

  const newBundle = (name: string, annotations: Record<string, string> = {}) => {
    const b = join(dir, name);
    mkdirSync(b);
    writeFileSync(join(b, 'config.json'), JSON.stringify({ ociVersion: '1.2.0', annotations }));
    return b;
  };
  const killAtTeardown = (t: Test, marker: string) =>
    t.teardown(() => {
      for (const pid of pidsWith(marker)) process.kill(pid, 'SIGKILL');
    });
  const ctd = join(dir, 'ctd.sock');
  const startArgs = (namespace: string, id: string) => [
    '-namespace',
    namespace,
    '-id',
    id,
    '-address',
    ctd,
    '-publish-binary',
    '/bin/true',
    'start',
  ];
  // No `node` to run: a start that succeeds so was answered by the front alone.
  const noNode = { PATH: '/nonexistent' };

  t.test('the shared shim: a later start is claimed by it without Node; a grouped container is not', async (t) => {
    const sharedNs = `${ns}-shared`;
    const first = `s1-${process.pid}`;
    killAtTeardown(t, `-id\0${first}\0`);
    const r = front(startArgs(sharedNs, first), newBundle('shared-1'), { RUNT_SHIM_IDLE_TIMEOUT: '60' });
    t.equal(r.code, 0, r.stderr);
    const address = r.stdout.toString();
    t.equal(address, sharedSocketAddress(ctd, sharedNs), "the namespace's shared address (the front's hash is address.ts's)");
    t.match(address, /^unix:\/\/\/run\/containerd\/s\/runt-[0-9a-f]{16}$/);
    const [pid] = pidsWith(`-id\0${first}\0`);
    t.ok(pid, 'a Node process became the shim');

    const b2 = newBundle('shared-2');
    const second = front(startArgs(sharedNs, `s2-${process.pid}`), b2, noNode);
    t.equal(second.code, 0, `claimed with no node on PATH: ${second.stderr}`);
    t.equal(second.stdout.toString(), address, 'the same address');
    t.equal(readFileSync(join(b2, 'address'), 'utf8'), address, "the shim wrote the bundle's address file");
    t.same(pidsWith(`-id\0${first}\0`), [pid], 'still the one shim');
    // Node's own Claim (start.ts: the npm package's bin run alone, or the front's fallback).
    const b6 = newBundle('shared-6');
    const env = { ...process.env };
    delete env.NODE_OPTIONS;
    const viaNode = spawnSync(
      process.execPath,
      [join(REPO, 'bin/containerd-shim-runt-v2.cjs'), ...startArgs(sharedNs, `s6-${process.pid}`)],
      {
        cwd: b6,
        env,
        encoding: 'utf8',
        timeout: 60_000,
      },
    );
    t.equal(viaNode.status, 0, viaNode.stderr);
    t.equal(viaNode.stdout, address, "Node's start claims the running shim too");
    t.equal(readFileSync(join(b6, 'address'), 'utf8'), address, 'which wrote the address file');
    t.same(pidsWith(`-id\0${first}\0`), [pid], 'no other shim');
    t.same(pidsWith(`-id\0s6-${process.pid}\0`), [], 'none spawned');

    const grouped = front(startArgs(sharedNs, `s3-${process.pid}`), newBundle('shared-3', { 'io.containerd.runt.v2.group': 'g' }), noNode);
    t.equal(grouped.code, 1, "a container naming a group goes to its group's shim (none here): the front falls back to Node");
    t.match(grouped.stderr, /exec node/, 'which it could not run here');
    // A group annotation the front's text scan does not see (an escaped key): the front takes the
    // container for one that names no group, and the shared shim, which parses config.json, refuses.
    const escaped = newBundle('shared-5');
    writeFileSync(join(escaped, 'config.json'), '{"annotations":{"io.kubernetes.cri.sandbox\\u002did":"pod9"}}');
    const hidden = front(startArgs(sharedNs, `s5-${process.pid}`), escaped, noNode);
    t.equal(hidden.code, 1, 'a group the front cannot see: the shared shim refuses, Node decides');
    t.notOk(existsSync(join(escaped, 'address')), 'and no address file is written');
    const otherNs = front(startArgs(`${sharedNs}-other`, `s4-${process.pid}`), newBundle('shared-4'), noNode);
    t.equal(otherNs.code, 1, 'another namespace has another shared shim (none here): Node again');

    process.kill(pid, 'SIGTERM');
    await waitFor('the shared shim to exit', () => pidsWith(`-id\0${first}\0`).length === 0, 30_000);
    t.notOk(existsSync(socketPath(address)), 'its socket removed');
  });

  t.test("a pod's later container: claimed by the pod's shim without Node", async (t) => {
    const podNs = `${ns}-pod`;
    const first = `p1-${process.pid}`;
    killAtTeardown(t, `-id\0${first}\0`);
    const pod = { 'io.kubernetes.cri.sandbox-id': `pod-${process.pid}` };
    const r = front(startArgs(podNs, first), newBundle('pod-1', pod));
    t.equal(r.code, 0, r.stderr);
    const address = r.stdout.toString();
    t.equal(address, socketAddress(ctd, podNs, `pod-${process.pid}`), "the pod's address (the front's hash is address.ts's)");
    const [pid] = pidsWith(`-id\0${first}\0`);
    t.ok(pid, "a Node process became the pod's shim");
    // CRI's config.json: Go's encoding, other annotations around it; an empty runt group is no group.
    const b2 = newBundle('pod-2', { 'io.containerd.runt.v2.group': '', 'io.kubernetes.cri.container-type': 'container', ...pod });
    const second = front(startArgs(podNs, `p2-${process.pid}`), b2, noNode);
    t.equal(second.code, 0, `claimed with no node on PATH: ${second.stderr}`);
    t.equal(second.stdout.toString(), address, 'the same address');
    t.equal(readFileSync(join(b2, 'address'), 'utf8'), address, "the pod's shim wrote the bundle's address file");
    const plain = front(startArgs(podNs, `p3-${process.pid}`), newBundle('pod-3'), noNode);
    t.equal(plain.code, 1, "a container of no pod does not go to the pod's shim (no shared shim here: Node)");
    const withShare0 = front(startArgs(podNs, `p4-${process.pid}`), newBundle('pod-4', pod), { ...noNode, RUNT_SHIM_SHARE: '0' });
    t.equal(withShare0.code, 0, `RUNT_SHIM_SHARE=0 leaves pods alone: ${withShare0.stderr}`);
    process.kill(pid, 'SIGTERM');
    await waitFor("the pod's shim to exit", () => pidsWith(`-id\0${first}\0`).length === 0, 30_000);
    t.notOk(existsSync(socketPath(address)), 'its socket removed');
  });

  t.test("the shim's Claim: refused while exiting, for another namespace or containerd, for another group", async (t) => {
    const args = parseShimArgs(['-namespace', 'n', '-id', 'x', '-address', ctd]);
    let exiting = false;
    let claims = 0;
    const shared = sharedSocketAddress(ctd, 'n');
    const claim = claimHandler({ args, address: shared, exiting: () => exiting, claimed: () => void claims++, log: () => {} });
    const plain = newBundle('claim-plain');
    const code = (p: Promise<unknown>) =>
      p.then(
        () => 0,
        (e: StatusError) => e.code,
      );
    t.same(await claim({ id: 'a', namespace: 'n', address: ctd, bundle: plain }), { address: shared });
    t.equal(readFileSync(join(plain, 'address'), 'utf8'), shared, 'the address file');
    t.equal(claims, 1, 'the idle period restarts');
    t.equal(await code(claim({ id: 'a', namespace: 'm', address: ctd, bundle: plain })), CODE.FAILED_PRECONDITION, 'another namespace');
    t.equal(
      await code(claim({ id: 'a', namespace: 'n', address: '/other.sock', bundle: plain })),
      CODE.FAILED_PRECONDITION,
      'another containerd',
    );
    const grouped = newBundle('claim-grouped', { 'io.kubernetes.cri.sandbox-id': 'pod1' });
    t.equal(await code(claim({ id: 'b', namespace: 'n', address: ctd, bundle: grouped })), CODE.FAILED_PRECONDITION, "a pod's container");
    t.equal(
      await code(claim({ id: 'c', namespace: 'n', address: ctd, bundle: join(dir, 'nowhere') })),
      CODE.INVALID_ARGUMENT,
      'no config.json',
    );
    exiting = true;
    t.equal(await code(claim({ id: 'a', namespace: 'n', address: ctd, bundle: plain })), CODE.UNAVAILABLE, 'exiting');
    t.equal(claims, 1);
  });

  t.test(
    'a shim that refuses the claim as it exits: the front falls back to Node, which waits for the socket to go and becomes the shim',
    async (t) => {
      const exitingNs = `${ns}-exiting`;
      const path = socketPath(sharedSocketAddress(ctd, exitingNs));
      mkdirSync('/run/containerd/s', { recursive: true, mode: 0o711 });
      // What an exiting shim does: refuses claims; here the second one finds it removing its socket
      // and closing (the real shim does both at once, before answering anything more).
      const fake = new TtrpcServer();
      let claims = 0;
      fake.register(FRONT_SERVICE, 'Claim', 'runt.shim.v1.ClaimRequest', 'runt.shim.v1.ClaimResponse', async () => {
        if (++claims === 2) {
          unlinkSync(path);
          fake.server.close();
        }
        throw new StatusError(CODE.UNAVAILABLE, 'the shim is exiting');
      });
      await fake.listen({ path });
      t.teardown(() => {
        fake.close();
        try {
          unlinkSync(path);
        } catch {
          /* removed by the shim */
        }
      });
      const id = `e1-${process.pid}`;
      killAtTeardown(t, `-id\0${id}\0`);
      const r = await frontAsync(startArgs(exitingNs, id), newBundle('exiting-1'));
      t.equal(r.code, 0, r.stderr);
      t.equal(claims, 2, "the front's claim and Node's were refused");
      t.equal(r.stdout, `unix://${path}`, 'the shared address');
      const [pid] = pidsWith(`-id\0${id}\0`);
      t.ok(pid, 'served by the Node process the front started');
      const again = front(startArgs(exitingNs, `e2-${process.pid}`), newBundle('exiting-2'), noNode);
      t.equal(again.code, 0, `which takes the next container, without Node: ${again.stderr}`);
      if (pid) process.kill(pid, 'SIGTERM');
      await waitFor('the shim to exit', () => pidsWith(`-id\0${id}\0`).length === 0, 30_000);
      t.notOk(existsSync(path), 'its socket removed');
    },
  );

  t.test('an exiting shim leaves alone a socket a newer shim bound at its path', async (t) => {
    const nextNs = `${ns}-successor`;
    const id = `n1-${process.pid}`;
    killAtTeardown(t, `-id\0${id}\0`);
    const r = front(startArgs(nextNs, id), newBundle('successor-1'));
    t.equal(r.code, 0, r.stderr);
    const path = socketPath(r.stdout.toString());
    const [pid] = pidsWith(`-id\0${id}\0`);
    t.ok(pid, 'the shim runs');
    unlinkSync(path);
    const successor = net.createServer((c) => c.end('successor\n'));
    await new Promise<void>((resolve) => successor.listen(path, resolve));
    t.teardown(() => {
      successor.close();
    });
    process.kill(pid, 'SIGTERM');
    await waitFor('the old shim to exit', () => pidsWith(`-id\0${id}\0`).length === 0, 30_000);
    t.ok(existsSync(path), "the successor's socket is still there");
    const said = await new Promise<string>((resolve, reject) => {
      const c = net.connect(path);
      let got = '';
      c.on('data', (d) => (got += d.toString()));
      c.on('end', () => resolve(got));
      c.on('error', reject);
    });
    t.equal(said, 'successor\n', 'and still serves');
  });
}
