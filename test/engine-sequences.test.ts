// runt driven exactly the way the engines drive runc (docs/ENGINES.md, field notes): the call
// sequences of containerd's runc shim (also Docker's) and of conmon/podman, flag for flag, with the
// failure reason read back from the JSON log as the engines do.
import t from 'tap';
import { closeSync, existsSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readMaster } from './helpers/pty.js';
import { ConsoleSocket } from '../src/terminal/console-socket.js';
import { describe, errorLines, isGone, makeBundle, runt, stateRoot, waitFor, type Bundle } from './helpers/index.js';

// Whole engine sessions, each a few dozen runt calls: more than the default file timeout on a busy machine.
t.setTimeout(300_000);

interface LogLine {
  level: string;
  msg: string;
  time: string;
}

function logLines(file: string): LogLine[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as LogLine);
}

/** What the engines show the user: the message of the last error line. */
function lastError(file: string): string | undefined {
  return logLines(file)
    .filter((l) => l.level === 'error')
    .pop()?.msg;
}

function processJson(b: Bundle, name: string, process: object): string {
  const file = join(b.dir, name);
  writeFileSync(file, JSON.stringify({ cwd: '/', user: { uid: 0, gid: 0 }, env: ['PATH=/bin:/usr/bin'], ...process }));
  return file;
}

/** pids.max of the container's cgroup, found through runt's saved state. */
function pidsMax(stateRootDir: string, id: string): string {
  const { cgroupPaths } = JSON.parse(readFileSync(join(stateRootDir, id, 'state.json'), 'utf8')) as { cgroupPaths: Record<string, string> };
  const dir = cgroupPaths.pids ?? cgroupPaths[''];
  return readFileSync(join(dir, 'pids.max'), 'utf8').trim();
}

t.test('containerd shim (and Docker): --root R --log B/log.json --log-format json on every call', async (t) => {
  const root = stateRoot(t);
  const b = makeBundle(t, ['sleep', '1000']);
  const id = root.id('shim');
  const log = join(b.dir, 'log.json');
  const shim = (args: string[], opts: Parameters<typeof runt>[1] = {}) =>
    runt(['--root', root.path, '--log', log, '--log-format', 'json', ...args], {
      stdoutFile: join(b.dir, 'shim.out'),
      stderrFile: join(b.dir, 'shim.err'),
      ...opts,
    });

  const create = shim(['create', '--bundle', b.dir, '--pid-file', join(b.dir, 'init.pid'), id]);
  t.equal(create.code, 0, describe(create));
  const initPid = Number(readFileSync(join(b.dir, 'init.pid'), 'utf8'));
  t.equal(root.state(id)?.pid, initPid, 'init.pid holds the init');
  t.equal(shim(['start', id]).code, 0);
  t.equal(root.state(id)?.status, 'running');

  // exec: the process comes as a JSON file, terminal from the JSON (no --tty).
  const execPid = join(b.dir, 'exec.pid');
  const exec = shim(['exec', '--process', processJson(b, 'p1.json', { args: ['sleep', '1000'] }), '--detach', '--pid-file', execPid, id]);
  t.equal(exec.code, 0, describe(exec));
  const pid1 = Number(readFileSync(execPid, 'utf8'));
  t.notOk(isGone(pid1), "the exec'd process runs");

  const socket = new ConsoleSocket(join(b.dir, 'pty.sock'));
  t.teardown(() => socket.close());
  const received = socket.receive();
  const ttyExec = shim([
    'exec',
    '--process',
    processJson(b, 'p2.json', { terminal: true, args: ['sh', '-c', 'tty; sleep 0.2'] }),
    '--detach',
    '--pid-file',
    join(b.dir, 'exec2.pid'),
    '--console-socket',
    socket.path,
    id,
  ]);
  t.equal(ttyExec.code, 0, describe(ttyExec));
  t.match(await readMaster((await received).fd), /^\/dev\/pts\/\d+\r\n$/, 'the terminal exec ran on a pty from the console socket');

  const ps = shim(['ps', '--format', 'json', id]);
  t.equal(ps.code, 0, describe(ps));
  const pids = JSON.parse(ps.stdout) as number[];
  t.ok(pids.includes(initPid) && pids.includes(pid1), `ps lists the init and the exec'd process: ${ps.stdout}`);

  t.equal(shim(['pause', id]).code, 0);
  t.equal(root.state(id)?.status, 'paused');
  t.equal(shim(['resume', id]).code, 0);
  t.equal(root.state(id)?.status, 'running');

  const stdin = join(b.dir, 'resources.json');
  writeFileSync(stdin, JSON.stringify({ pids: { limit: 123 } }));
  const fd = openSync(stdin, 'r');
  try {
    const update = shim(['update', '--resources', '-', id], { stdin: fd });
    t.equal(update.code, 0, describe(update));
  } finally {
    closeSync(fd);
  }
  t.equal(pidsMax(root.path, id), '123', 'update --resources - read the JSON from stdin');

  t.equal(shim(['kill', id, '15']).code, 0, 'kill ID 15');
  t.equal(shim(['kill', id, '9']).code, 0, 'kill ID 9');
  await waitFor('the init to exit', () => isGone(initPid));
  t.equal(root.state(id)?.status, 'stopped');
  const killStopped = shim(['kill', id, '9']);
  t.not(killStopped.code, 0, 'killing a stopped container fails, as with runc');
  t.match(lastError(log), /stopped|not running/);

  const del = shim(['delete', id]);
  t.equal(del.code, 0, describe(del));
  const again = shim(['delete', '--force', id]);
  t.equal(again.code, 0, "the shim's second delete --force of a deleted container exits 0");
  t.notOk(existsSync(join(root.path, id)));
  t.ok(
    logLines(log).every((l) => typeof l.level === 'string' && typeof l.msg === 'string' && !Number.isNaN(Date.parse(l.time))),
    'every log line is {level, msg, time}',
  );
});

t.test('containerd shim: failures are read back from the last error line of the JSON log', async (t) => {
  const root = stateRoot(t);
  const b = makeBundle(t, ['no-such-binary']);
  const id = root.id('shimerr');
  const log = join(b.dir, 'log.json');
  const shim = (args: string[]) =>
    runt(['--root', root.path, '--log', log, '--log-format', 'json', ...args], {
      stdoutFile: join(b.dir, 'o'),
      stderrFile: join(b.dir, 'e'),
    });
  const cases: Array<[string, string[], RegExp]> = [
    ['create of a missing executable', ['create', '--bundle', b.dir, '--pid-file', join(b.dir, 'init.pid'), id], /no-such-binary/],
    [
      'create of a missing bundle',
      ['create', '--bundle', join(b.dir, 'nope'), '--pid-file', join(b.dir, 'init.pid'), id],
      /does not exist/,
    ],
    ['start of a missing container', ['start', id], /does not exist/],
    [
      'exec into a missing container',
      ['exec', '--process', processJson(b, 'p.json', { args: ['true'] }), '--detach', '--pid-file', join(b.dir, 'p.pid'), id],
      /does not exist/,
    ],
    ['kill of a missing container', ['kill', id, '9'], /does not exist/],
    ['update of a missing container', ['update', '--resources', join(b.dir, 'p.json'), id], /does not exist|resources/],
    ['an unknown flag', ['create', '--bogus-flag', '--bundle', b.dir, id], /bogus/],
  ];
  for (const [what, args, pattern] of cases) {
    writeFileSync(log, '');
    const r = shim(args);
    t.not(r.code, 0, `${what}: non-zero`);
    const msg = lastError(log);
    t.match(msg, pattern, `${what}: log says ${msg}`);
    t.equal(errorLines(r).at(-1), msg, `${what}: stderr says the same`);
  }
  t.same(root.entries(), [], 'nothing left in the state root');
});

t.test('conmon/podman: --log-format=json --log F first, no --root; exec --tty with --console-socket', async (t) => {
  const b = makeBundle(t, ['sleep', '1000']);
  const root = stateRoot(t); // for the leak check of this id; the calls use runt's default root
  const id = root.id('conmon');
  const log = join(b.dir, 'oci-log');
  const conmon = (args: string[], opts: Parameters<typeof runt>[1] = {}) =>
    runt(['--log-format=json', '--log', log, ...args], { stdoutFile: join(b.dir, 'c.out'), stderrFile: join(b.dir, 'c.err'), ...opts });
  const podman = (args: string[]) => runt(args, { stdoutFile: join(b.dir, 'p.out'), stderrFile: join(b.dir, 'p.err') });
  t.teardown(() => {
    podman(['delete', '--force', id]);
  });

  const socket = new ConsoleSocket(join(b.dir, 'conmon.sock'));
  t.teardown(() => socket.close());
  const create = conmon(['create', '--bundle', b.dir, '--pid-file', join(b.dir, 'pidfile'), id]);
  t.equal(create.code, 0, describe(create));
  const initPid = Number(readFileSync(join(b.dir, 'pidfile'), 'utf8'));
  t.ok(initPid > 0);
  t.equal(podman(['start', id]).code, 0);

  const received = socket.receive();
  const exec = conmon([
    'exec',
    '--pid-file',
    join(b.dir, 'exec-pid'),
    '--process',
    processJson(b, 'exec.json', { terminal: true, args: ['sh', '-c', 'tty; sleep 0.2'] }),
    '--detach',
    '--tty',
    '--console-socket',
    socket.path,
    id,
  ]);
  t.equal(exec.code, 0, describe(exec));
  t.match(await readMaster((await received).fd), /^\/dev\/pts\/\d+\r\n$/);
  const plain = conmon([
    'exec',
    '--pid-file',
    join(b.dir, 'exec-pid2'),
    '--process',
    processJson(b, 'exec2.json', { args: ['sleep', '1000'] }),
    '--detach',
    id,
  ]);
  t.equal(plain.code, 0, describe(plain));

  t.equal(podman(['pause', id]).code, 0);
  t.equal(podman(['resume', id]).code, 0);
  const resources = join(b.dir, 'update.json');
  writeFileSync(resources, JSON.stringify({ pids: { limit: 77 } }));
  const update = podman(['update', `--resources=${resources}`, id]);
  t.equal(update.code, 0, describe(update));
  t.equal(pidsMax('/run/runt', id), '77');
  t.equal(podman(['kill', id, '15']).code, 0);
  t.equal(podman(['kill', id, '9']).code, 0);
  await waitFor('the init to exit', () => isGone(initPid));
  t.equal(podman(['delete', '--force', id]).code, 0);
  t.equal(podman(['delete', '--force', id]).code, 0, 'again: still 0');

  const version = podman(['--version']);
  t.equal(version.code, 0);
  const lines = version.stdout.trim().split('\n');
  t.match(lines[0], /^runt version \d+\.\d+\.\d+/, 'first line like runc\'s: "<name> version X"');
  t.match(version.stdout, /^spec: 1\.\d+\.\d+/m, "a spec: line like runc's");

  const failing = conmon(['create', '--bundle', join(b.dir, 'missing'), '--pid-file', join(b.dir, 'x'), root.id('conmon')]);
  t.not(failing.code, 0);
  t.match(lastError(log), /does not exist/, 'conmon reads the reason from the log');
});

t.test('features: the OCI features document, true to this build', async (t) => {
  const r = runt(['features']);
  t.equal(r.code, 0, describe(r));
  const f = JSON.parse(r.stdout) as {
    ociVersionMin: string;
    ociVersionMax: string;
    hooks: string[];
    mountOptions: string[];
    linux: {
      namespaces: string[];
      capabilities: string[];
      cgroup: Record<string, boolean>;
      seccomp: { enabled: boolean; actions: string[]; operators: string[]; archs: string[] };
      apparmor: { enabled: boolean };
      selinux: { enabled: boolean };
      mountExtensions: { idmap: { enabled: boolean } };
    };
  };
  t.equal(f.ociVersionMin, '1.0.0');
  t.match(f.ociVersionMax, /^1\.\d+\.\d+$/);
  t.same(f.hooks, ['prestart', 'createRuntime', 'createContainer', 'startContainer', 'poststart', 'poststop']);
  for (const o of ['ro', 'rw', 'nosuid', 'nodev', 'noexec', 'bind', 'rbind', 'rprivate', 'rslave', 'relatime', 'strictatime']) {
    t.ok(f.mountOptions.includes(o), `mount option ${o}`);
  }
  t.ok(
    f.mountOptions.includes('rro') && f.mountOptions.includes('rnosuid'),
    'the recursive mount_setattr options are claimed (runt-init carries them out)',
  );
  t.same(f.linux.namespaces, ['cgroup', 'ipc', 'mount', 'network', 'pid', 'time', 'user', 'uts']);
  const lastCap = Number(readFileSync('/proc/sys/kernel/cap_last_cap', 'utf8'));
  t.equal(f.linux.capabilities.length, lastCap + 1, 'one capability per number up to cap_last_cap');
  t.equal(f.linux.capabilities[0], 'CAP_CHOWN');
  t.equal(f.linux.cgroup.v1, true);
  t.equal(f.linux.cgroup.v2, true);
  t.equal(f.linux.cgroup.systemd, true);
  t.equal(f.linux.cgroup.systemdUser, false);
  t.equal(f.linux.seccomp.enabled, true);
  t.ok(f.linux.seccomp.actions.includes('SCMP_ACT_NOTIFY'));
  t.equal(f.linux.seccomp.operators.length, 7);
  t.ok(f.linux.seccomp.archs.includes('SCMP_ARCH_X86_64'));
  t.equal(f.linux.apparmor.enabled, false);
  t.equal(f.linux.selinux.enabled, false);
  // Idmapped mounts need mount_setattr(MOUNT_ATTR_IDMAP), Linux 5.12.
  const [major, minor] = readFileSync('/proc/sys/kernel/osrelease', 'utf8').split('.').map(Number);
  t.equal(f.linux.mountExtensions.idmap.enabled, major > 5 || (major === 5 && minor >= 12), 'idmapped mounts where the kernel has them');
});
