// Rootless podman with runt as its runtime. The test makes a user on this machine (useradd, which
// also gives it /etc/subuid and /etc/subgid ranges) and runs podman 4.3 as that user: podman makes
// its own user namespace through newuidmap/newgidmap (its "pause" process keeps it) and calls runt
// inside it, as root of that namespace. Nothing is pulled: the container runs from a copy of the
// test rootfs owned by the user (--rootfs). Checked: root inside with the user's id and subuid range
// mapped, exit codes, exec into a detached container, kill and delete --force, `podman ps -a` empty
// and runt's state under $XDG_RUNTIME_DIR/runt empty afterwards; runt run as root of that user
// namespace (podman unshare) refuses a resource limit it has no cgroup for, naming the field. At the
// end every process of the user is killed by pid and the user, its files (home, podman's storage,
// /dev/shm lock) and the runtime directory are removed.
import t from 'tap';
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { detectLayout } from '../src/cgroups/index.js';
import { defaultSpec } from '../src/spec/default.js';
import { CLI, sourceRootfs, waitFor } from './helpers/index.js';

const have = (p: string) => existsSync(p);
const which = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' }).stdout.trim() || undefined;
const skip =
  process.geteuid?.() !== 0
    ? 'needs root to make a user'
    : !have('/usr/sbin/useradd') || !have('/usr/sbin/userdel') || !have('/usr/sbin/runuser')
      ? 'no useradd/userdel/runuser'
      : !have('/usr/bin/newuidmap') || !have('/usr/bin/newgidmap')
        ? 'no newuidmap/newgidmap (apt-get install uidmap)'
        : !which('podman') || !which('conmon')
          ? 'podman is not installed (apt-get install podman): nothing to drive runt with'
          : Number(readFileSync('/proc/sys/user/max_user_namespaces', 'utf8')) === 0
            ? 'user namespaces are disabled'
            : false;

const user = `runtrp${process.pid}`;

/** Processes whose real uid is `uid`, by pid. */
function processesOf(uid: number): number[] {
  const pids: number[] = [];
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const line = readFileSync(`/proc/${e}/status`, 'utf8').match(/^Uid:\s+(\d+)/m);
      if (line && Number(line[1]) === uid) pids.push(Number(e));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

/** Files the user owns in the shared temporary places, outside the test's own directory. */
function filesOf(uid: number, except: string): string[] {
  const r = spawnSync('find', ['/tmp', '/var/tmp', '/dev/shm', '-xdev', '-uid', String(uid), '-not', '-path', `${except}*`], {
    encoding: 'utf8',
  });
  return r.stdout.trim().split('\n').filter(Boolean);
}

t.test('rootless podman (as a new user) runs containers with runt as its runtime', { skip }, async (t) => {
  const dir = mkdtempSync('/tmp/runt-rlpodman-');
  chmodSync(dir, 0o755);
  execFileSync('/usr/sbin/useradd', ['--no-create-home', '--shell', '/bin/sh', user]);
  const uid = Number(execFileSync('id', ['-u', user], { encoding: 'utf8' }).trim());
  const gid = Number(execFileSync('id', ['-g', user], { encoding: 'utf8' }).trim());
  const runUserDirBefore = existsSync(`/run/user/${uid}`);
  t.teardown(async () => {
    // podman's pause process (and conmons it reaps) outlive every podman command: end them by pid.
    for (let round = 0; round < 50 && processesOf(uid).length > 0; round++) {
      for (const pid of processesOf(uid)) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    spawnSync('/usr/sbin/userdel', [user]);
    for (const f of filesOf(uid, dir)) rmSync(f, { recursive: true, force: true });
    if (!runUserDirBefore) rmSync(`/run/user/${uid}`, { recursive: true, force: true });
    rmSync(dir, { recursive: true, force: true });
  });
  const range = (file: string) => {
    const line = readFileSync(file, 'utf8')
      .split('\n')
      .find((l) => l.startsWith(`${user}:`));
    if (!line) throw new Error(`${file} has no range for ${user}`);
    return line.split(':').slice(1).map(Number);
  };
  const [subuid, subuidCount] = range('/etc/subuid');
  const [subgid, subgidCount] = range('/etc/subgid');

  const owned = (name: string, mode = 0o755) => {
    const p = join(dir, name);
    mkdirSync(p, { mode });
    chownSync(p, uid, gid);
    chmodSync(p, mode);
    return p;
  };
  const xdg = owned('xdg', 0o700);
  const home = owned('home', 0o700);
  const tmp = owned('tmp', 0o700);
  // Root of podman's user namespace is the user: the rootfs must be the user's to be root's inside.
  const rootfs = join(dir, 'rootfs');
  execFileSync('cp', ['-a', sourceRootfs(), rootfs]);
  execFileSync('chown', ['-R', `${uid}:${gid}`, rootfs]);

  const calls = join(dir, 'calls.log');
  writeFileSync(calls, '');
  chownSync(calls, uid, gid);
  const wrapper = join(dir, 'runt');
  writeFileSync(
    wrapper,
    `#!/bin/sh\necho "$*" >> '${calls}'\nexec env -u NODE_EXTRA_CA_CERTS -u NODE_OPTIONS '${process.execPath}' '${CLI}' "$@"\n`,
  );
  chmodSync(wrapper, 0o755);
  // podman's defaults otherwise (rlimits: rootless podman keeps them within the user's hard limits).
  // cgroupfs: a rootless user on this hybrid host has no systemd user session to ask for a scope.
  writeFileSync(
    join(dir, 'containers.conf'),
    [
      '[engine]',
      'runtime = "runt"',
      'runtime_supports_json = ["crun", "runc", "runt"]',
      'cgroup_manager = "cgroupfs"',
      'events_logger = "file"',
      `events_logfile_path = "${tmp}/events.log"`,
      `tmp_dir = "${tmp}"`,
      '[engine.runtimes]',
      `runt = ["${wrapper}"]`,
    ].join('\n'),
  );
  writeFileSync(
    join(dir, 'storage.conf'),
    `[storage]\ndriver = "vfs"\nrunroot = "${xdg}/containers"\ngraphroot = "${home}/storage"\nrootless_storage_path = "${home}/storage"\n`,
  );

  const asUser = (argv: string[]) =>
    spawnSync(
      '/usr/sbin/runuser',
      [
        '-u',
        user,
        '--',
        '/usr/bin/env',
        '-i',
        ...Object.entries({
          PATH: '/usr/bin:/bin',
          HOME: home,
          XDG_RUNTIME_DIR: xdg,
          CONTAINERS_CONF: join(dir, 'containers.conf'),
          CONTAINERS_STORAGE_CONF: join(dir, 'storage.conf'),
        }).map(([k, v]) => `${k}=${v}`),
        ...argv,
      ],
      { encoding: 'utf8', cwd: '/', timeout: 120_000 },
    );
  const podman = (args: string[]) => asUser(['podman', ...args]);
  const rows = (s: string) =>
    s
      .trim()
      .split('\n')
      .map((l) => l.trim().split(/\s+/).join(' '));

  const r = podman([
    'run',
    '--rm',
    '--network',
    'none',
    '--rootfs',
    rootfs,
    '/bin/sh',
    '-c',
    'id; cat /proc/self/uid_map /proc/self/gid_map',
  ]);
  t.equal(r.status, 0, `podman run exits 0 (${r.stderr.trim()})`);
  t.same(
    rows(r.stdout),
    ['uid=0(root) gid=0(root)', `0 ${uid} 1`, `1 ${subuid} ${subuidCount}`, `0 ${gid} 1`, `1 ${subgid} ${subgidCount}`],
    "root inside; the user's own ids and its /etc/subuid, /etc/subgid ranges mapped",
  );

  const code = podman(['run', '--rm', '--network', 'none', '--rootfs', rootfs, '/bin/sh', '-c', 'exit 3']);
  t.equal(code.status, 3, `the container's exit code comes back (${code.stderr.trim()})`);

  const name = `rl-${process.pid}`;
  const d = podman(['run', '-d', '--name', name, '--network', 'none', '--rootfs', rootfs, 'sleep', '1000']);
  t.equal(d.status, 0, `podman run -d (${d.stderr.trim()})`);
  const ex = podman(['exec', name, 'sh', '-c', 'echo pid=$$; id -u']);
  t.equal(ex.status, 0, `podman exec (${ex.stderr.trim()})`);
  t.match(ex.stdout, /^pid=\d+\n0\n$/, 'exec runs in the container as root of its namespace');
  const exCode = podman(['exec', name, 'sh', '-c', 'exit 5']);
  t.equal(exCode.status, 5, 'exec exit code');
  const rm = podman(['rm', '-f', '-t', '0', name]);
  t.equal(rm.status, 0, `podman rm -f (${rm.stderr.trim()})`);

  const ps = podman(['ps', '-a', '--format', '{{.ID}}']);
  t.equal(ps.status, 0, 'podman ps -a');
  t.equal(ps.stdout.trim(), '', 'no container left');
  t.ok(existsSync(join(xdg, 'runt')), 'runt kept its state under $XDG_RUNTIME_DIR/runt (root of a user namespace)');
  t.same(existsSync(join(xdg, 'runt')) ? readdirSync(join(xdg, 'runt')) : [], [], 'and none is left');

  const log = readFileSync(calls, 'utf8');
  for (const cmd of [' create --bundle ', 'start ', 'exec --pid-file ', 'kill ', 'delete --force ']) {
    t.ok(log.includes(cmd), `podman called runt ${cmd.trim()}`);
  }

  // runt itself as root of podman's user namespace: no cgroup here, so a limit is refused by name.
  const bundle = owned('bundle');
  const spec = defaultSpec();
  spec.root = { path: rootfs, readonly: false };
  spec.process!.terminal = false;
  spec.process!.args = ['true'];
  spec.linux!.resources = { memory: { limit: 64 << 20 } };
  writeFileSync(join(bundle, 'config.json'), JSON.stringify(spec));
  const lim = asUser([
    'podman',
    'unshare',
    '/usr/bin/env',
    '-u',
    'NODE_OPTIONS',
    process.execPath,
    CLI,
    'run',
    '--bundle',
    bundle,
    'rl-limit',
  ]);
  t.not(lim.status, 0, 'a memory limit without a cgroup fails');
  t.same(
    lim.stderr.trim().split('\n'),
    [
      detectLayout().kind === 'v2'
        ? 'linux.resources.memory: no cgroup is delegated to root of this user namespace (rootless: give a linux.cgroupsPath in a cgroup v2 subtree you own)'
        : `linux.resources.memory: no cgroup is delegated to root of this user namespace (rootless, and this host's cgroups are ${detectLayout().kind})`,
    ],
    'one line naming the field and why',
  );
  t.same(readdirSync(join(xdg, 'runt')), [], 'no state left');

  // What the teardown removes must really go: the user's processes first.
  await waitFor(
    'the pause process to be ended',
    () => {
      for (const pid of processesOf(uid)) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // gone
        }
      }
      return processesOf(uid).length === 0;
    },
    10_000,
  );
  t.same(processesOf(uid), [], 'no process of the user left');
  t.equal(existsSync(`/run/user/${uid}`), runUserDirBefore, 'podman made no /run/user/UID (XDG_RUNTIME_DIR was given)');
});
