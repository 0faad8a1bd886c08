// exec: a process joining a running container sees what the container's init sees (hostname, PID
// namespace, mounts, cgroups), runs as the user and with the capabilities its process asks for, and
// runt reports its exit status; paused and stopped containers are refused cleanly.
import t from 'tap';
import type { Test } from 'tap';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  capMask,
  describe,
  errorLines,
  isGone,
  makeBundle,
  nsInode,
  procStatus,
  stateRoot,
  statusNumbers,
  waitFor,
  type StateRoot,
  type Bundle,
} from './helpers/index.js';

// A dozen containers, each with its own rootfs copy: more than the default file timeout on a busy machine.
t.setTimeout(300_000);

const HOSTNAME = 'exec-test-host';

/** A running container whose init sleeps; returns its id and init pid. */
function runningContainer(t: Test, root: StateRoot, patch?: (b: Bundle) => void): { id: string; pid: number; bundle: Bundle } {
  const bundle = makeBundle(t, ['sleep', '1000'], (spec, b) => {
    spec.hostname = HOSTNAME;
    patch?.(b);
  });
  const id = root.id('exec');
  const r = root.runt(['run', '-d', '--bundle', bundle.dir, id], {
    stdoutFile: join(bundle.dir, 'run.stdout'),
    stderrFile: join(bundle.dir, 'run.stderr'),
  });
  if (r.code !== 0) throw new Error(`run -d failed: ${describe(r)} ${readFileSync(join(bundle.dir, 'run.stderr'), 'utf8')}`);
  const pid = root.state(id)?.pid ?? 0;
  return { id, pid, bundle };
}

t.test('exec sees the container: hostname, PID namespace, mounts, cgroups', async (t) => {
  const root = stateRoot(t);
  const { id, pid: initPid, bundle } = runningContainer(t, root);
  const pidFile = join(bundle.dir, 'exec.pid');
  const script = [
    'hostname',
    'echo pid=$$',
    'readlink /proc/self/ns/mnt',
    'readlink /proc/self/ns/pid',
    'readlink /proc/self/ns/uts',
    'readlink /proc/self/ns/ipc',
    'readlink /proc/self/ns/net',
    'cat /proc/1/cmdline | tr "\\0" " "; echo',
    'cat /proc/self/cgroup | sort',
    'echo ---',
    'cat /proc/1/cgroup | sort',
  ].join('; ');
  const r = root.runt(['exec', '--pid-file', pidFile, id, 'sh', '-c', `${script}; sleep 0.3`]);
  t.equal(r.code, 0, describe(r));
  const lines = r.stdout.trim().split('\n');
  t.equal(lines[0], HOSTNAME, "the container's hostname");
  const inner = Number(/^pid=(\d+)$/.exec(lines[1])?.[1]);
  const hostPid = Number(readFileSync(pidFile, 'utf8'));
  t.ok(hostPid > 0, '--pid-file holds the host pid');
  t.ok(inner > 1 && inner !== hostPid, `its pid inside (${inner}) is the PID namespace's, not the host's (${hostPid})`);
  t.equal(lines[2], nsInode(initPid, 'mnt'), "the init's mount namespace");
  t.equal(lines[3], nsInode(initPid, 'pid'), "the init's PID namespace");
  t.equal(lines[4], nsInode(initPid, 'uts'), "the init's UTS namespace");
  t.equal(lines[5], nsInode(initPid, 'ipc'), "the init's IPC namespace");
  t.equal(lines[6], nsInode(initPid, 'net'), "the init's network namespace");
  t.equal(lines[7].trim(), 'sleep 1000', "pid 1 in there is the container's init");
  const sep = lines.indexOf('---');
  t.ok(sep > 8, 'cgroup lines printed');
  t.same(lines.slice(8, sep), lines.slice(sep + 1), "the init's cgroups (as seen from inside)");
});

t.test('exec into a container with a user namespace joins it first (ids mapped)', async (t) => {
  const root = stateRoot(t);
  const mapping = [{ containerID: 0, hostID: 100000, size: 65536 }];
  const {
    id,
    pid: initPid,
    bundle,
  } = runningContainer(t, root, (b) => {
    b.spec.linux!.namespaces!.push({ type: 'user' });
    b.spec.linux!.uidMappings = mapping;
    b.spec.linux!.gidMappings = mapping;
  });
  const pidFile = join(bundle.dir, 'userns.pid');
  const r = root.runt(['exec', '-d', '--pid-file', pidFile, id, 'sleep', '1000'], {
    stdoutFile: join(bundle.dir, 'u.out'),
    stderrFile: join(bundle.dir, 'u.err'),
  });
  t.equal(r.code, 0, describe(r));
  const pid = Number(readFileSync(pidFile, 'utf8'));
  t.equal(nsInode(pid, 'user'), nsInode(initPid, 'user'), "the init's user namespace");
  t.equal(nsInode(pid, 'mnt'), nsInode(initPid, 'mnt'), 'and its mount namespace');
  t.same(statusNumbers(procStatus(pid).Uid), [100000, 100000, 100000, 100000], 'uid 0 inside is host uid 100000');
  const inside = root.runt(['exec', id, 'sh', '-c', 'id -u; cat /proc/self/uid_map']);
  t.equal(inside.code, 0, describe(inside));
  t.match(inside.stdout, /^0\n\s+0\s+100000\s+65536\n$/);
});

t.test("exit codes: the process's code, 128+N for a signal, one error line for a missing command", async (t) => {
  const root = stateRoot(t);
  const { id } = runningContainer(t, root);
  t.equal(root.runt(['exec', id, 'true']).code, 0);
  t.equal(root.runt(['exec', id, 'sh', '-c', 'exit 7']).code, 7);
  t.equal(root.runt(['exec', id, 'sh', '-c', 'kill -9 $$']).code, 137, 'SIGKILL → 137');
  const missing = root.runt(['exec', id, 'no-such-command']);
  t.not(missing.code, 0);
  t.equal(errorLines(missing).length, 1, `one line: ${missing.stderr}`);
  t.match(missing.stderr, /no-such-command/);
  t.equal(root.state(id)?.status, 'running', 'the container is untouched by the failed exec');
});

t.test("stdio passes through; options end at the container id (sh -c is the command's)", async (t) => {
  const root = stateRoot(t);
  const { id, bundle } = runningContainer(t, root);
  const input = join(bundle.dir, 'input');
  writeFileSync(input, 'from stdin\n');
  const { openSync, closeSync } = await import('node:fs');
  const fd = openSync(input, 'r');
  try {
    const r = root.runt(['exec', id, 'sh', '-c', 'cat; echo to-stderr >&2'], { stdin: fd });
    t.equal(r.code, 0, describe(r));
    t.equal(r.stdout, 'from stdin\n');
    t.equal(r.stderr, 'to-stderr\n');
  } finally {
    closeSync(fd);
  }
});

t.test('exec flags: --env, --cwd, --user, --additional-gids, --no-new-privs, --cap', async (t) => {
  const root = stateRoot(t);
  const { id } = runningContainer(t, root);
  const r = root.runt([
    'exec',
    '-e',
    'FOO=bar',
    '--env',
    'BAZ=qux',
    '--cwd',
    '/tmp',
    '-u',
    '1000:1001',
    '-g',
    '5',
    '-g',
    '6',
    '--no-new-privs',
    id,
    'sh',
    '-c',
    'echo $FOO $BAZ; pwd; id -u; id -g; id -G; grep ^NoNewPrivs /proc/self/status',
  ]);
  t.equal(r.code, 0, describe(r));
  const [env, cwd, uid, gid, groups, nnp] = r.stdout.trim().split('\n');
  t.equal(env, 'bar qux');
  t.equal(cwd, '/tmp');
  t.equal(uid, '1000');
  t.equal(gid, '1001');
  t.same(groups.split(' ').sort(), ['1001', '5', '6']);
  t.equal(nnp, 'NoNewPrivs:\t1');

  // CAP_NET_ADMIN (12) is not in the default set: --cap adds it to bounding, effective, permitted.
  const NET_ADMIN = 1n << 12n;
  const without = root.runt(['exec', id, 'grep', '^CapBnd', '/proc/self/status']);
  t.equal(BigInt(`0x${without.stdout.trim().split('\t')[1]}`) & NET_ADMIN, 0n, 'not there by default');
  const caps = root.runt(['exec', '--cap', 'CAP_NET_ADMIN', id, 'grep', '-E', '^Cap(Bnd|Eff)', '/proc/self/status']);
  t.equal(caps.code, 0, describe(caps));
  for (const line of caps.stdout.trim().split('\n')) {
    t.not(BigInt(`0x${line.split('\t')[1]}`) & NET_ADMIN, 0n, `${line.split(':')[0]} has CAP_NET_ADMIN`);
  }
});

// runc sets LISTEN_FDS/LISTEN_PID only for the container's init, and only when runc itself was
// socket-activated; its exec never does. runt's exec passes the fds and leaves the environment alone.
// (--apparmor and --process-label are refused: test/core-lsm.test.ts.)
t.test('--preserve-fds passes fds 3.. to the process, without LISTEN_FDS', async (t) => {
  const root = stateRoot(t);
  const { id, bundle } = runningContainer(t, root);
  const { openSync, closeSync } = await import('node:fs');
  const extra = join(bundle.dir, 'fd3.out');
  const fd = openSync(extra, 'w');
  try {
    const r = root.runt(
      [
        'exec',
        '--preserve-fds',
        '1',
        id,
        'sh',
        '-c',
        'echo through-fd-3 >&3; ls /proc/self/fd | wc -l; echo "LISTEN=${LISTEN_FDS-unset}:${LISTEN_PID-unset}"',
      ],
      { extraFds: [fd] },
    );
    t.equal(r.code, 0, describe(r));
    const [count, listen] = r.stdout
      .trim()
      .split('\n')
      .map((l) => l.trim());
    t.equal(count, '5', 'fds 0-3 plus the one ls opens: nothing else leaked in');
    t.equal(listen, 'LISTEN=unset:unset', 'exec sets no socket-activation variables (as runc exec)');
  } finally {
    closeSync(fd);
  }
  t.equal(readFileSync(extra, 'utf8'), 'through-fd-3\n');
});

t.test('--process: user, capabilities, env, cwd and rlimits from the process JSON', async (t) => {
  const root = stateRoot(t);
  const { id, bundle } = runningContainer(t, root);
  const caps = ['CAP_CHOWN', 'CAP_KILL'];
  const processFile = join(bundle.dir, 'process.json');
  writeFileSync(
    processFile,
    JSON.stringify({
      args: ['sh', '-c', 'id -u; id -g; echo $GREETING; pwd; grep -E "^Cap(Eff|Prm|Bnd)" /proc/self/status; ulimit -n'],
      env: ['PATH=/bin:/usr/bin', 'GREETING=hello'],
      cwd: '/etc',
      user: { uid: 123, gid: 456 },
      capabilities: { bounding: caps, effective: caps, permitted: caps, inheritable: caps, ambient: caps },
      rlimits: [{ type: 'RLIMIT_NOFILE', hard: 512, soft: 256 }],
    }),
  );
  const r = root.runt(['exec', '--process', processFile, id]);
  t.equal(r.code, 0, describe(r));
  const lines = r.stdout.trim().split('\n');
  t.same(lines.slice(0, 4), ['123', '456', 'hello', '/etc']);
  const st = Object.fromEntries(lines.slice(4, 7).map((l) => l.split(':\t')));
  const want = capMask(caps);
  t.equal(st.CapEff, want, 'effective');
  t.equal(st.CapPrm, want, 'permitted');
  t.equal(st.CapBnd, want, 'bounding');
  t.equal(lines[7], '256', 'the soft RLIMIT_NOFILE of the process JSON');

  const bad = join(bundle.dir, 'bad.json');
  writeFileSync(bad, JSON.stringify({ args: [], cwd: '/', user: { uid: 0, gid: 0 } }));
  const invalid = root.runt(['exec', '--process', bad, id]);
  t.not(invalid.code, 0);
  t.equal(errorLines(invalid).length, 1, `one line: ${invalid.stderr}`);
  t.match(invalid.stderr, /args/, 'naming the field');
});

t.test("what the process JSON leaves out comes from the container's process (capabilities, rlimits)", async (t) => {
  const root = stateRoot(t);
  const { id, pid: initPid, bundle } = runningContainer(t, root);
  const processFile = join(bundle.dir, 'process.json');
  writeFileSync(processFile, JSON.stringify({ args: ['grep', '^CapEff', '/proc/self/status'], cwd: '/', user: { uid: 0, gid: 0 } }));
  const r = root.runt(['exec', '--process', processFile, id]);
  t.equal(r.code, 0, describe(r));
  t.equal(r.stdout.trim().split('\t')[1], procStatus(initPid).CapEff, "the init's effective set");
});

t.test('exec -d returns once the process runs; its pid file is written; it lives in the container', async (t) => {
  const root = stateRoot(t);
  const { id, pid: initPid, bundle } = runningContainer(t, root);
  const pidFile = join(bundle.dir, 'detached.pid');
  const r = root.runt(['exec', '-d', '--pid-file', pidFile, id, 'sleep', '1000'], {
    stdoutFile: join(bundle.dir, 'd.out'),
    stderrFile: join(bundle.dir, 'd.err'),
  });
  t.equal(r.code, 0, describe(r));
  const pid = Number(readFileSync(pidFile, 'utf8'));
  t.notOk(isGone(pid), 'the detached process runs');
  t.equal(nsInode(pid, 'pid'), nsInode(initPid, 'pid'));
  t.equal(readFileSync(`/proc/${pid}/cgroup`, 'utf8'), readFileSync(`/proc/${initPid}/cgroup`, 'utf8'));
  t.equal(procStatus(pid).NSpid?.split('\t').length, 2, "it has a pid in the container's namespace too");
  t.equal(root.runt(['kill', id, 'KILL']).code, 0);
  await waitFor("the exec'd process to die with the init", () => isGone(pid));
});

t.test('exec into a paused container fails unless --ignore-paused; into a stopped one fails cleanly', async (t) => {
  const root = stateRoot(t);
  const { id, pid: initPid, bundle } = runningContainer(t, root);
  const pause = root.runt(['pause', id]);
  t.equal(pause.code, 0, describe(pause));
  t.equal(root.state(id)?.status, 'paused');
  const refused = root.runt(['exec', id, 'true']);
  t.not(refused.code, 0);
  t.equal(errorLines(refused).length, 1, `one line: ${refused.stderr}`);
  t.match(refused.stderr, /paused/);

  // With --ignore-paused the process joins the frozen cgroup and runs once the container resumes.
  const out = join(bundle.dir, 'ignored.out');
  const waiting = root.runtAsync(['exec', '--ignore-paused', id, 'echo', 'ran after resume'], {
    stdoutFile: out,
    stderrFile: join(bundle.dir, 'ignored.err'),
  });
  await new Promise((r) => setTimeout(r, 300));
  t.equal(readFileSync(out, 'utf8'), '', 'nothing ran while paused');
  t.equal(root.runt(['resume', id]).code, 0);
  const done = await waiting.done;
  t.equal(done.code, 0, describe(done));
  t.equal(done.stdout, 'ran after resume\n');

  t.equal(root.runt(['kill', id, 'KILL']).code, 0);
  await waitFor('the init to exit', () => isGone(initPid));
  const stopped = root.runt(['exec', id, 'true']);
  t.not(stopped.code, 0);
  t.equal(errorLines(stopped).length, 1, `one line: ${stopped.stderr}`);
  t.match(stopped.stderr, /stopped/);
  const missing = root.runt(['exec', 'rt-no-such-container', 'true']);
  t.not(missing.code, 0);
  t.equal(errorLines(missing).length, 1);
  t.match(missing.stderr, /does not exist/);
});

t.test('every exec failure also ends with an error line in the --log-format json log', async (t) => {
  const root = stateRoot(t);
  const { id, bundle } = runningContainer(t, root);
  const log = join(bundle.dir, 'log.json');
  for (const args of [
    ['exec', id, 'no-such-command'],
    ['exec', 'rt-no-such-container', 'true'],
    ['exec', '--process', '/nonexistent.json', id],
  ]) {
    writeFileSync(log, '');
    const r = root.runt(['--log', log, '--log-format', 'json', ...args]);
    t.not(r.code, 0, args.join(' '));
    const last = JSON.parse(readFileSync(log, 'utf8').trim().split('\n').pop()!) as { level: string; msg: string; time: string };
    t.equal(last.level, 'error');
    t.equal(last.msg, errorLines(r)[0], 'the same message as stderr');
    t.ok(!Number.isNaN(Date.parse(last.time)), 'with a time');
  }
});

t.test('library: Runtime.exec returns a handle whose wait() gives the status', async (t) => {
  const root = stateRoot(t);
  const { id } = runningContainer(t, root);
  const { Runtime } = await import('../src/index.js');
  const rt = new Runtime({ root: root.path });
  const p = await rt.exec(id, { args: ['sh', '-c', 'exit 3'], cwd: '/', user: { uid: 0, gid: 0 } }, { stdio: 'ignore' });
  t.ok(p.pid > 0);
  t.same(await p.wait(), { code: 3, signal: null });
  const killed = await rt.exec(id, { args: ['sleep', '100'], cwd: '/', user: { uid: 0, gid: 0 } }, { stdio: 'ignore' });
  killed.kill('SIGKILL');
  t.same(await killed.wait(), { code: null, signal: 'SIGKILL' });
  await t.rejects(rt.exec('rt-no-such-container', { args: ['true'], cwd: '/', user: { uid: 0, gid: 0 } }), /does not exist/);
});
