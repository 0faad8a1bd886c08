// End to end under real engines: containerd (through its runc shim, with ctr) and podman (through
// conmon), each configured to use runt as its OCI runtime (docs/ENGINES.md). Nothing is pulled: a
// busybox image is built here from the test rootfs and imported. Each engine runs with private state
// directories inside its own mount namespace, so its mounts never reach the host's. Skipped with a
// message when the engine is not installed (apt-get install containerd / podman).
import t from 'tap';
import type { Test } from 'tap';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLI, sourceRootfs, waitFor } from './helpers/index.js';
import { removeEngineCgroupsAtTeardown } from './helpers/engine-cgroups.js';
import { buildBusyboxImage } from '../bench/busybox-image.js';
import { containerdConfig } from '../bench/containerd-config.js';
import { removeEmptyTreesPatiently } from '../bench/empty-dirs.js';
import { holdContainerdLock } from './helpers/containerd-lock.js';

const IMAGE = 'localhost/runt-test-busybox:latest';
// ctr's namespace (CONTAINERD_NAMESPACE), this file's own rather than containerd's `default`, which
// a containerd of the host's would use: the cgroups and /run directories named after it are this
// file's to remove.
const NS = 'runt-engine-real';
process.env.CONTAINERD_NAMESPACE = NS;

// Two engines, each starting and stopping containers through runt: more than the default file timeout.
t.setTimeout(600_000);

function which(cmd: string): string | undefined {
  const r = spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

/** An OCI image archive with the busybox rootfs as its one layer. */
const buildImage = (dir: string): string => buildBusyboxImage(dir, IMAGE, sourceRootfs());

/** The runtime binary the engines are given: runt's CLI through node, every call logged. */
function runtWrapper(dir: string): { path: string; calls: () => string[] } {
  const path = join(dir, 'runt');
  const calls = join(dir, 'calls.log');
  writeFileSync(
    path,
    `#!/bin/sh\necho "$*" >> '${calls}'\nexec env -u NODE_EXTRA_CA_CERTS -u NODE_OPTIONS '${process.execPath}' '${CLI}' "$@"\n`,
  );
  chmodSync(path, 0o755);
  return { path, calls: () => (existsSync(calls) ? readFileSync(calls, 'utf8').trim().split('\n') : []) };
}

/** Pids of processes whose command line mentions `text` (this test's private directory). */
function processesWith(text: string): number[] {
  return readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .filter((p) => {
      try {
        return readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(text);
      } catch {
        return false;
      }
    })
    .map(Number);
}

function hardLimit(name: string): number {
  const line = readFileSync('/proc/self/limits', 'utf8')
    .split('\n')
    .find((l) => l.startsWith(name))!;
  const hard = line.slice(26).trim().split(/\s+/)[1];
  return hard === 'unlimited' ? 1048576 : Number(hard);
}

function tempDir(t: Test, prefix: string): string {
  const dir = mkdtempSync(`/tmp/${prefix}`);
  chmodSync(dir, 0o755);
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

t.test('containerd (runc shim v2 with BinaryName = runt) runs, execs, pauses, kills and removes a container', async (t) => {
  if (!which('containerd') || !which('ctr') || !which('containerd-shim-runc-v2')) {
    t.skip('containerd is not installed (apt-get install containerd): nothing to drive runt with', () => {});
    return;
  }
  await holdContainerdLock(t);
  const dir = tempDir(t, 'runt-containerd-');
  const runtBin = runtWrapper(dir);
  const sock = join(dir, 'containerd.sock');
  writeFileSync(join(dir, 'config.toml'), containerdConfig({ dir, sock }));
  // containerd's namespace is the parent of its containers' cgroups (cgroupsPath /NS/ID).
  removeEngineCgroupsAtTeardown(t, [NS]);
  // The shim keeps sockets and runc's state under /run/containerd whatever the config says.
  const runDirBefore = [`/run/containerd/runc/${NS}`, '/run/containerd/runc', '/run/containerd/s', '/run/containerd'].filter(
    (d) => !existsSync(d),
  );
  // Its own mount namespace: snapshots and rootfs mounts stay out of the host's.
  const daemon: ChildProcess = spawn('unshare', ['-m', '--propagation', 'private', 'containerd', '--config', join(dir, 'config.toml')], {
    stdio: ['ignore', 'ignore', 'ignore'],
  });
  t.teardown(async () => {
    // Shims this containerd started (they outlive it by design), then the daemon itself.
    for (const pid of processesWith(`-address ${sock}`)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    daemon.kill('SIGTERM');
    await new Promise((r) => daemon.once('exit', r));
    await removeEmptyTreesPatiently(runDirBefore);
  });
  await waitFor("containerd's socket", () => existsSync(sock), 30_000);
  const ctr = (args: string[], timeout = 60_000) => spawnSync('ctr', ['--address', sock, ...args], { encoding: 'utf8', timeout });
  // ctr keeps a task's fifos in a directory of its own, by default under /run/containerd/fifo, and
  // leaves it there for a detached task: here it is inside the test's directory.
  const fifoDir = join(dir, 'fifo');

  const imported = ctr(['images', 'import', buildImage(dir)]);
  t.equal(imported.status, 0, imported.stderr);
  const id = `runt-ctr-${process.pid}`;
  const run = ctr([
    'run',
    '--fifo-dir',
    fifoDir,
    '--rm',
    '--runc-binary',
    runtBin.path,
    IMAGE,
    `${id}-a`,
    'sh',
    '-c',
    'echo hello from runt; exit 3',
  ]);
  t.equal(run.stdout, 'hello from runt\n', run.stderr);
  t.equal(run.status, 3, "ctr run reports the container's exit code");

  const detached = ctr(['run', '--fifo-dir', fifoDir, '-d', '--runc-binary', runtBin.path, IMAGE, id, 'sleep', '1000']);
  t.equal(detached.status, 0, detached.stderr);
  t.ok(existsSync(fifoDir) && readdirSync(fifoDir).length > 0, "the detached task's fifos are in the test's directory");
  const exec = ctr([
    'task',
    'exec',
    '--fifo-dir',
    fifoDir,
    '--exec-id',
    'e1',
    id,
    'sh',
    '-c',
    // The pause lets containerd's runc shim finish copying: it can lose the output of an exec that
    // exits at once (seen here about once in eight runs under load; concourse/concourse#6775).
    'echo pid=$$; cat /proc/1/cmdline | tr "\\0" " "; sleep 1',
  ]);
  t.equal(exec.status, 0, exec.stderr);
  t.match(exec.stdout, /^pid=\d+\nsleep 1000 $/, "exec ran inside the container's PID namespace");
  t.equal(ctr(['task', 'exec', '--fifo-dir', fifoDir, '--exec-id', 'e2', id, 'sh', '-c', 'exit 9']).status, 9, 'exec exit code');
  const terminal = spawnSync(
    'script',
    ['-qec', `ctr --address ${sock} task exec --fifo-dir ${fifoDir} -t --exec-id e3 ${id} tty`, '/dev/null'],
    {
      encoding: 'utf8',
      timeout: 60_000,
    },
  );
  t.match(terminal.stdout, /\/dev\/pts\/\d+/, "exec -t: runt sent the pty master to the shim's console socket");
  t.equal(ctr(['task', 'pause', id]).status, 0);
  t.match(ctr(['task', 'ls']).stdout, new RegExp(`${id}\\s+\\d+\\s+PAUSED`));
  t.equal(ctr(['task', 'resume', id]).status, 0);
  t.match(ctr(['task', 'ps', id]).stdout, /\d+/);
  t.equal(ctr(['task', 'kill', '-s', 'SIGKILL', id]).status, 0);
  await waitFor('the task to stop', () => /STOPPED/.test(ctr(['task', 'ls']).stdout), 30_000);
  t.equal(ctr(['task', 'delete', id]).status, 0);
  t.equal(ctr(['container', 'delete', id]).status, 0);
  ctr(['images', 'rm', IMAGE]);

  const calls = runtBin.calls();
  for (const cmd of ['create --bundle', 'start', 'exec --process', 'ps --format json', 'pause', 'resume', 'kill', 'delete']) {
    t.ok(
      calls.some((c) => c.includes(`--log-format json ${cmd}`)),
      `the shim called runt ${cmd}`,
    );
  }
  t.ok(
    calls.some((c) => /exec --process \S+ --console-socket/.test(c)),
    'and exec with a console socket',
  );
});

t.test('podman (conmon, runtime = runt, runtime_supports_json) runs, execs, pauses, stops and removes a container', async (t) => {
  if (!which('podman') || !which('conmon')) {
    t.skip('podman is not installed (apt-get install podman): nothing to drive runt with', () => {});
    return;
  }
  const dir = tempDir(t, 'runt-podman-');
  const runtBin = runtWrapper(dir);
  writeFileSync(
    join(dir, 'containers.conf'),
    [
      '[engine]',
      'runtime = "runt"',
      'runtime_supports_json = ["crun", "runc", "runt"]',
      'cgroup_manager = "cgroupfs"',
      'events_logger = "file"',
      `events_logfile_path = "${dir}/events.log"`,
      `tmp_dir = "${dir}/tmp"`,
      '[engine.runtimes]',
      `runt = ["${runtBin.path}"]`,
      '[containers]',
      'netns = "none"',
      // podman's default rlimits exceed this sandbox's hard limits (no CAP_SYS_RESOURCE), as with runc.
      `default_ulimits = ["nofile=${hardLimit('Max open files')}:${hardLimit('Max open files')}", "nproc=4096:4096"]`,
    ].join('\n'),
  );
  writeFileSync(join(dir, 'storage.conf'), `[storage]\ndriver = "vfs"\ngraphroot = "${dir}/storage"\nrunroot = "${dir}/run"\n`);
  // podman (cgroup_manager cgroupfs) puts conmon in /libpod_parent/conmon and the containers beside it.
  removeEngineCgroupsAtTeardown(t, ['libpod_parent']);
  t.teardown(async () => {
    // conmon outlives `podman rm` briefly (it runs podman's cleanup command): wait for this
    // session's conmons before the cgroups they sit in are removed.
    await waitFor('conmon to exit', () => processesWith(dir).length === 0, 30_000).catch(() => {});
  });
  const name = `runt-pod-${process.pid}`;
  // One mount namespace for the whole session: podman's shm mounts stay out of the host's.
  const script = `
    P="podman --tmpdir ${dir}/tmp"
    $P load -q -i ${buildImage(dir)} >/dev/null || exit 90
    echo "run=$($P run --rm ${IMAGE} sh -c 'echo hello; exit 0')"
    $P run --rm ${IMAGE} sh -c 'exit 4'; echo "runcode=$?"
    $P run -d --name ${name} ${IMAGE} sleep 1000 >/dev/null || exit 91
    echo "exec=$($P exec ${name} sh -c 'echo pid=$$')"
    $P exec ${name} sh -c 'exit 5'; echo "execcode=$?"
    echo "tty=$($P exec -t ${name} tty </dev/null)"
    echo "user=$($P exec -u 1000:1000 ${name} id -u)"
    $P pause ${name} >/dev/null && echo "paused=$($P inspect -f '{{.State.Status}}' ${name})"
    $P unpause ${name} >/dev/null && echo "unpaused=$($P inspect -f '{{.State.Status}}' ${name})"
    $P stop -t 1 ${name} >/dev/null 2>&1; echo "stopped=$($P inspect -f '{{.State.Status}}' ${name})"
    $P rm ${name} >/dev/null; echo "rm=$?"
    $P rmi ${IMAGE} >/dev/null 2>&1
  `;
  const r = spawnSync('unshare', ['-m', '--propagation', 'private', 'sh', '-c', script], {
    encoding: 'utf8',
    timeout: 240_000,
    env: { ...process.env, CONTAINERS_CONF: join(dir, 'containers.conf'), CONTAINERS_STORAGE_CONF: join(dir, 'storage.conf') },
  });
  t.equal(r.status, 0, r.stderr);
  const out = Object.fromEntries(
    r.stdout
      .trim()
      .split('\n')
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1).trim()]),
  );
  t.equal(out.run, 'hello', `podman run: ${r.stderr}`);
  t.equal(out.runcode, '4', 'its exit code');
  t.match(out.exec, /^pid=\d+$/, 'podman exec');
  t.equal(out.execcode, '5', 'exec exit code');
  t.match(out.tty, /^\/dev\/pts\/\d+$/, "exec -t: a pty through conmon's console socket");
  t.equal(out.user, '1000', 'exec -u');
  t.equal(out.paused, 'paused');
  t.equal(out.unpaused, 'running');
  t.equal(out.stopped, 'exited');
  t.equal(out.rm, '0');
  const calls = runtBin.calls();
  t.ok(
    calls.some((c) => c.startsWith('--log-format=json --log ') && c.includes(' create --bundle ')),
    'conmon passed --log-format=json (runtime_supports_json)',
  );
  t.ok(
    calls.some((c) => / exec --pid-file \S+ --process \S+ --detach --tty --console-socket /.test(c)),
    "conmon's exec with a terminal",
  );
  t.ok(
    calls.some((c) => c.startsWith('delete --force ')),
    "podman's delete --force",
  );
});
