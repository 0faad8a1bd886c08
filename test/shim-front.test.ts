// The shim's native front (csrc/shim_front.cc, build/Release/containerd-shim-runt-v2) run as
// containerd runs it, without containerd: `delete` answers with the DeleteResponse the shim left in
// the bundle, and leaves it to Node otherwise; `start` reports the address Node gives on its pipe,
// or Node's error, while the Node process becomes the shim.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import net from 'node:net';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO, waitFor } from './helpers/index.js';
import { decode } from '../src/shim/proto.js';
import { deleteResponse, DELETE_RESPONSE_FILE } from '../src/shim/cleanup.js';
import { socketPath } from '../src/shim/address.js';
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
    const r = front(['-namespace', ns, '-id', id, '-address', join(dir, 'ctd.sock'), '-publish-binary', '/bin/true', 'start'], bundle);
    const pids = pidsWith(`-id\0${id}\0`);
    t.teardown(() => {
      for (const pid of pidsWith(`-id\0${id}\0`)) process.kill(pid, 'SIGKILL');
    });
    t.equal(r.code, 0, r.stderr);
    const address = r.stdout.toString();
    t.match(address, /^unix:\/\/\/run\/containerd\/s\/[0-9a-f]{64}$/, 'the address, alone on stdout');
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
}
