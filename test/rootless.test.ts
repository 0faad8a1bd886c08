// Rootless: runt run by an unprivileged user. The test makes a user on this machine (useradd, which
// also gives it /etc/subuid and /etc/subgid ranges) and removes it at the end; runt runs as that user
// through runuser with XDG_RUNTIME_DIR set to a directory the user owns. Checked: the state goes
// under $XDG_RUNTIME_DIR/runt; the user's own ids mapped directly (root inside, uid_map "0 UID 1");
// a subuid range mapped through newuidmap/newgidmap; a resource limit with no delegated cgroup and
// a range outside /etc/subuid each refused with one line, leaving nothing.
import t from 'tap';
import type { Test } from 'tap';
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { detectLayout } from '../src/cgroups/index.js';
import { defaultSpec } from '../src/spec/default.js';
import type { Spec } from '../src/spec/types.js';
import { makeBundle } from './helpers/bundle.js';
import { CLI } from './helpers/runt.js';

const have = (p: string) => existsSync(p);
const skip =
  process.geteuid?.() !== 0
    ? 'needs root to make a user'
    : !have('/usr/sbin/useradd') || !have('/usr/sbin/userdel') || !have('/usr/sbin/runuser')
      ? 'no useradd/userdel/runuser'
      : !have('/usr/bin/newuidmap') || !have('/usr/bin/newgidmap')
        ? 'no newuidmap/newgidmap (apt-get install uidmap)'
        : Number(readFileSync('/proc/sys/user/max_user_namespaces', 'utf8')) === 0
          ? 'user namespaces are disabled'
          : false;

const user = `runtrl${process.pid}`;

interface User {
  uid: number;
  gid: number;
  subuid: number;
  subgid: number;
  xdg: string;
}

function makeUser(tt: Test): User {
  execFileSync('/usr/sbin/useradd', ['--no-create-home', '--shell', '/bin/sh', user]);
  tt.teardown(() => {
    spawnSync('/usr/sbin/userdel', [user]);
  });
  const [uid, gid] = execFileSync('id', ['-u', user], { encoding: 'utf8' })
    .trim()
    .split('\n')
    .map(Number)
    .concat(Number(execFileSync('id', ['-g', user], { encoding: 'utf8' }).trim()));
  const range = (file: string) => {
    const line = readFileSync(file, 'utf8')
      .split('\n')
      .find((l) => l.startsWith(`${user}:`));
    if (!line) throw new Error(`${file} has no range for ${user}`);
    return Number(line.split(':')[1]);
  };
  const xdg = mkdtempSync('/tmp/runt-test-xdg-');
  tt.teardown(() => rmSync(xdg, { recursive: true, force: true }));
  chownSync(xdg, uid, gid);
  chmodSync(xdg, 0o700);
  return { uid, gid, subuid: range('/etc/subuid'), subgid: range('/etc/subgid'), xdg };
}

/** A bundle the user can read, with `runt spec --rootless`'s config for that user. */
function rootlessBundle(tt: Test, u: User, script: string, patch?: (s: Spec) => void) {
  return makeBundle(tt, ['sh', '-c', script], (s) => {
    const r = defaultSpec({ rootless: true });
    Object.assign(s, { mounts: r.mounts, linux: r.linux });
    s.process!.terminal = false;
    s.linux!.uidMappings = [{ containerID: 0, hostID: u.uid, size: 1 }];
    s.linux!.gidMappings = [{ containerID: 0, hostID: u.gid, size: 1 }];
    patch?.(s);
  });
}

function runAs(u: User, args: string[]) {
  const env: NodeJS.ProcessEnv = { PATH: '/usr/bin:/bin', XDG_RUNTIME_DIR: u.xdg, HOME: '/' };
  // env -u: the test runner's spawn hook puts its loader into NODE_OPTIONS.
  return spawnSync('/usr/sbin/runuser', ['-u', user, '--', '/usr/bin/env', '-u', 'NODE_OPTIONS', process.execPath, CLI, ...args], {
    encoding: 'utf8',
    env,
    timeout: 60_000,
    cwd: '/',
  });
}

const stateEntries = (u: User) => (existsSync(join(u.xdg, 'runt')) ? readdirSync(join(u.xdg, 'runt')) : []);

t.test('runt run as an unprivileged user', { skip }, async (t) => {
  const u = makeUser(t);

  const own = rootlessBundle(t, u, 'cat /proc/self/uid_map; id -u; ls -d /proc/1');
  const r = runAs(u, ['run', '--bundle', own.dir, 'rl-own']);
  t.equal(r.status, 0, `exit 0 (${r.stderr.trim()})`);
  const lines = r.stdout
    .trim()
    .split('\n')
    .map((l) => l.trim().split(/\s+/).join(' '));
  t.same(lines, [`0 ${u.uid} 1`, '0', '/proc/1'], "root inside, only the caller's uid mapped");
  t.ok(existsSync(join(u.xdg, 'runt')), 'the state root is $XDG_RUNTIME_DIR/runt');
  t.same(stateEntries(u), [], 'nothing left after run');

  const ranged = rootlessBundle(
    t,
    u,
    'cat /proc/self/uid_map /proc/self/gid_map; touch /tmp/f; chown 1000:1000 /tmp/f && stat -c %u:%g /tmp/f',
    (s) => {
      s.linux!.uidMappings!.push({ containerID: 1, hostID: u.subuid, size: 65536 });
      s.linux!.gidMappings!.push({ containerID: 1, hostID: u.subgid, size: 65536 });
      s.mounts!.push({ destination: '/tmp', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'nodev'] });
      const caps = s.process!.capabilities!;
      for (const set of [caps.bounding!, caps.effective!, caps.permitted!]) set.push('CAP_CHOWN');
    },
  );
  const rr = runAs(u, ['run', '--bundle', ranged.dir, 'rl-range']);
  t.equal(rr.status, 0, `exit 0 (${rr.stderr.trim()})`);
  t.same(
    rr.stdout
      .trim()
      .split('\n')
      .map((l) => l.trim().split(/\s+/).join(' ')),
    [`0 ${u.uid} 1`, `1 ${u.subuid} 65536`, `0 ${u.gid} 1`, `1 ${u.subgid} 65536`, '1000:1000'],
    'the /etc/subuid and /etc/subgid ranges mapped through newuidmap/newgidmap; chown to a mapped id works',
  );
  t.same(stateEntries(u), [], 'nothing left');

  const limited = rootlessBundle(t, u, 'true', (s) => {
    s.linux!.resources = { memory: { limit: 64 << 20 } };
  });
  const rl = runAs(u, ['run', '--bundle', limited.dir, 'rl-limit']);
  t.not(rl.status, 0, 'a memory limit without a delegated cgroup fails');
  const kind = detectLayout().kind;
  t.same(
    rl.stderr.trim().split('\n'),
    [
      kind === 'v2'
        ? `linux.resources.memory: no cgroup is delegated to uid ${u.uid} (rootless: give a linux.cgroupsPath in a cgroup v2 subtree you own)`
        : `linux.resources.memory: no cgroup is delegated to uid ${u.uid} (rootless, and this host's cgroups are ${kind})`,
    ],
    'one line naming the field and why',
  );
  t.same(stateEntries(u), [], 'nothing left');

  // A cgroupsPath it cannot have: the container runs (as runc's does) and the path is named.
  const placed = rootlessBundle(t, u, 'true', (s) => {
    s.linux!.cgroupsPath = '/rl-cg/nowhere';
  });
  const rp = runAs(u, ['run', '--bundle', placed.dir, 'rl-path']);
  t.equal(rp.status, 0, `a cgroupsPath without delegation: exit 0 (${rp.stderr.trim()})`);
  t.same(
    rp.stderr.trim().split('\n'),
    [
      kind === 'v2'
        ? `warning: linux.cgroupsPath /rl-cg/nowhere is not used: no cgroup is delegated to uid ${u.uid} (rootless: give a linux.cgroupsPath in a cgroup v2 subtree you own); the container stays in its caller's cgroup`
        : `warning: linux.cgroupsPath /rl-cg/nowhere is not used: no cgroup is delegated to uid ${u.uid} (rootless, and this host's cgroups are ${kind}); the container stays in its caller's cgroup`,
    ],
    'one warning naming linux.cgroupsPath and why, not a silent drop',
  );
  t.same(stateEntries(u), [], 'nothing left');

  const foreign = rootlessBundle(t, u, 'true', (s) => {
    s.linux!.uidMappings!.push({ containerID: 1, hostID: 50000, size: 10 });
  });
  const rf = runAs(u, ['run', '--bundle', foreign.dir, 'rl-foreign']);
  t.not(rf.status, 0, 'a range outside /etc/subuid fails');
  t.equal(rf.stderr.trim().split('\n').length, 1, 'one line');
  t.match(rf.stderr, /^linux\.uidMappings: newuidmap refused the mapping \(check \/etc\/subuid\)/, 'naming the field and the file');
  t.same(stateEntries(u), [], 'nothing left');
});
