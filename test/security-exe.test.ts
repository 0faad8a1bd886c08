// The runtime's own binary (the class of CVE-2019-5736) and ptrace of the init before it execs.
// Until it execs, a container process made by runt runs runt-init, executed from a sealed memfd
// copy: its /proc/PID/exe is "/memfd:runt-init (deleted)", which nobody can write to. Processes of the container (here: a second container sharing the PID
// namespace, as a pod does) must not be able to ptrace it or open its exe, memory or fds. The same
// probes succeed once the process has exec'd the container's binary, which shows that it is
// dumpability, and nothing else, that stops them.
import t from 'tap';
import type { Test } from 'tap';
import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync, writeSync, readlinkSync, realpathSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { REPO, describe, makeBundle, onTeardown, stateRoot, waitFor, waitForFile, type StateRoot } from './helpers/index.js';
import { native } from '../src/native.js';
import { buildExecPlan } from '../src/plan/exec-plan.js';
import { PR } from '../src/plan/constants.js';
import { addProbe, lines, needsProbe, probeBinary } from './security-helpers.js';

const NODE = realpathSync(process.execPath);
const INIT_EXE = /^\/memfd:runt-init/;
const isInit = (pid: number) => INIT_EXE.test(readlinkSync(`/proc/${pid}/exe`));

/** Runs `script` in a new container that shares the PID namespace of process `pid` (and so sees it
 *  in its /proc); returns the output lines. */
function fromSiblingContainer(t: Test, root: StateRoot, pid: number, script: string): string[] {
  const b = makeBundle(t, script, (s, b) => {
    s.linux!.namespaces = s.linux!.namespaces!.map((ns) => (ns.type === 'pid' ? { type: 'pid', path: `/proc/${pid}/ns/pid` } : ns));
    addProbe(b);
  });
  const r = root.run(b);
  t.equal(r.code, 0, describe(r));
  return lines(r.stdout);
}

/** What a process of the container tries against process `p` (its pid as the container sees it). */
const ATTACKS = (p: number) =>
  [
    `/probe ptrace ${p}`,
    `/probe open /proc/${p}/exe r`,
    `/probe open /proc/${p}/exe path`,
    `/probe open /proc/${p}/mem r`,
    `/probe open /proc/${p}/environ r`,
    `/probe open /proc/${p}/fd/0 r`,
  ].join('; ');
const REFUSED = ['err EPERM', 'err EACCES', 'err EACCES', 'err EACCES', 'err EACCES', 'err EACCES'];

t.test('a parked init cannot be ptraced, nor its exe, memory or fds opened, from its PID namespace', { skip: needsProbe() }, async (t) => {
  const root = stateRoot(t);
  const a = makeBundle(t, ['sleep', '60']);
  const c = root.create(a);
  t.equal(c.code, 0, describe(c));
  const pid = root.state(c.id)!.pid;
  t.match(readlinkSync(`/proc/${pid}/exe`), INIT_EXE, 'precondition: the parked init runs runt-init from a memfd');
  // What CVE-2019-5736 did: keep a handle on the runtime's binary and write to it once nothing
  // executes it any more.
  const held = openSync(`/proc/${pid}/exe`, 'r');
  onTeardown(t, () => closeSync(held));

  t.same(fromSiblingContainer(t, root, pid, ATTACKS(1)), REFUSED, 'every attempt on the parked init is refused');

  // The control: once the init has exec'd busybox, the same attempts work.
  t.equal(root.runt(['start', c.id]).code, 0);
  await waitFor('the init to exec', () => !isInit(pid));
  const writable = openSync(`/proc/self/fd/${held}`, 'r+');
  try {
    t.throws(
      () => writeSync(writable, 'x'),
      { code: 'EPERM' },
      'the runt-init copy it ran cannot be written, even by host root: it is sealed',
    );
  } finally {
    closeSync(writable);
  }
  const after = fromSiblingContainer(t, root, pid, ATTACKS(1));
  t.same(
    after.map((l) => l.split(' ')[0]),
    ['ok', 'ok', 'ok', 'ok', 'ok', 'ok'],
    `after exec the probes succeed: ${after.join(' | ')}`,
  );
});

t.test('a process joining with exec is non-dumpable before it joins', async (t) => {
  const plan = buildExecPlan(
    { args: ['true'], cwd: '/', user: { uid: 0, gid: 0 } },
    {
      nsFds: { pid: 10, mount: 11 },
      trace: false,
      lastCap: 40,
      preserveFds: 0,
    },
  );
  const first = plan.steps[0];
  t.match(first, { op: 'prctl', option: PR.SET_DUMPABLE, arg2: 0 }, 'the first step');
  t.ok(plan.steps.findIndex((s) => s.op === 'setns') > 0, 'before any setns');
});

t.test("an exec'd process, caught before its execve, cannot be ptraced or its exe opened", { skip: needsProbe() }, async (t) => {
  // The container's filter notifies execve: the agent here holds the exec'd process inside execve
  // (joined, not yet exec'd) while a sibling container tries its attacks, then lets it go on.
  const root = stateRoot(t);
  const n = native();
  let listenerPath = '';
  const a = makeBundle(t, ['sleep', '60'], (s, b) => {
    listenerPath = join(b.hostDir('agent'), 'agent.sock');
    s.linux!.seccomp = { defaultAction: 'SCMP_ACT_ALLOW', listenerPath, syscalls: [{ names: ['execve'], action: 'SCMP_ACT_NOTIFY' }] };
  });
  const listenFd = n.listenUnix(listenerPath);
  onTeardown(t, () => n.close(listenFd));
  const nextListener = async (): Promise<number> => {
    let conn = n.acceptUnix(listenFd);
    while (conn < 0) {
      await n.whenReadable(listenFd);
      conn = n.acceptUnix(listenFd);
    }
    let fd = -1;
    for (;;) {
      const m = n.recvFd(conn);
      if (!m) {
        await n.whenReadable(conn);
        continue;
      }
      if (m.fd >= 0) fd = m.fd;
      if (m.data === '' && m.fd < 0) break;
    }
    n.close(conn);
    onTeardown(t, () => n.close(fd));
    return fd;
  };
  const agent = (fd: number, hold: boolean) => {
    const p = spawn(probeBinary()!, ['agent', '3', 'continue', ...(hold ? ['wait'] : [])], { stdio: ['pipe', 'pipe', 'inherit', fd] });
    onTeardown(t, () => {
      if (p.exitCode === null) p.kill('SIGKILL');
    });
    let out = '';
    p.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
    });
    return { proc: p, output: () => out, done: new Promise((resolve) => p.on('exit', resolve)) };
  };

  const c = root.create(a);
  t.equal(c.code, 0, describe(c));
  const initPid = root.state(c.id)!.pid;
  const initAgent = agent(await nextListener(), false);
  t.equal(root.runt(['start', c.id]).code, 0);
  await initAgent.done;

  const exec = root.runtAsync(['exec', c.id, '/bin/true']);
  const held = agent(await nextListener(), true);
  const notified = await waitFor("the exec'd process to reach execve", () => /notified pid=(\d+)/.exec(held.output())?.[1]);
  const hostPid = Number(notified);
  t.match(readlinkSync(`/proc/${hostPid}/exe`), INIT_EXE, 'precondition: the joined process is still runt-init');
  const nsPids = readFileSync(`/proc/${hostPid}/status`, 'utf8')
    .match(/^NSpid:\s+(.*)$/m)![1]
    .trim()
    .split(/\s+/);
  const inContainer = Number(nsPids[nsPids.length - 1]);

  t.same(fromSiblingContainer(t, root, initPid, ATTACKS(inContainer)), REFUSED, 'every attempt on the joining process is refused');

  held.proc.stdin!.end('x');
  await held.done;
  const r = await exec.done;
  t.equal(r.code, 0, `the exec finished once released: ${describe(r)}`);
});

t.test("runt's own processes are not in the container's PID namespace", async (t) => {
  const root = stateRoot(t);
  const listExes = 'for p in /proc/[0-9]*; do readlink $p/exe; done';
  const b = makeBundle(t, `${listExes}; sleep 60`);
  const id = root.id('pidns');
  const run = root.runtAsync(['run', '--bundle', b.dir, id], { stdoutFile: join(b.dir, 'out'), stderrFile: join(b.dir, 'err') });
  onTeardown(t, () => {
    try {
      process.kill(run.pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  });
  const fromInit = await waitForFile(join(b.dir, 'out'));
  t.same([...new Set(lines(fromInit))], ['/bin/busybox'], 'while runt run watches it, the container sees only busybox processes');

  const e = root.runt(['exec', id, 'sh', '-c', listExes]);
  t.equal(e.code, 0, describe(e));
  t.same([...new Set(lines(e.stdout))], ['/bin/busybox'], 'during runt exec too');
  t.equal(root.runt(['kill', id, 'KILL']).code, 0);
  await run.done;
});

t.test("the runtime's binaries are not reachable from the container", async (t) => {
  const root = stateRoot(t);
  const targets = [
    NODE,
    join(REPO, 'dist/src/cli/main.js'),
    join(REPO, 'bin/runt.cjs'),
    join(REPO, 'dist/runt-cli.cjs'),
    join(REPO, 'build/Release/runt.node'),
    join(REPO, 'build/Release/runt-init'),
  ].map((p) => ({ path: p, ...statSync(p) }));
  // busybox find matches the inode; stat prints the device, so a match is the same file.
  const search = targets
    .map((f) => `find / -path /proc -prune -o -path /sys -prune -o -inum ${f.ino} -exec stat -c '${f.ino} %d %n' {} +`)
    .join('; ');
  const found = (stdout: string) => lines(stdout).filter((l) => targets.some((f) => l.startsWith(`${f.ino} ${f.dev} `)));

  const r = root.run(makeBundle(t, search));
  t.same(found(r.stdout), [], "no file in the container is node, runt's JavaScript, its addon or runt-init");

  // The control: the same search finds node once its directory is bind-mounted in.
  const control = root.run(
    makeBundle(t, search, (s) => {
      s.mounts!.push({ destination: '/hostbin', type: 'bind', source: dirname(NODE), options: ['rbind', 'ro'] });
    }),
  );
  t.match(found(control.stdout).join('\n'), /\/hostbin\/node/, 'the search does find a bind-mounted node');
});
