// SCMP_ACT_NOTIFY and the seccomp flags: the listener fd and the container process state reach an
// agent written here (a unix socket server receiving the fd with SCM_RIGHTS), the agent answers a
// notification, and the filter sits where the listener can still reach the runtime.
import t from 'tap';
import type { Test } from 'tap';
import { spawn } from 'node:child_process';
import { readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { describe, errorLines, leftovers, makeBundle, onTeardown, stateRoot, waitForFile } from './helpers/index.js';
import type { ContainerProcessState, Seccomp, Spec } from '../src/spec/types.js';
import { native } from '../src/native.js';
import { buildPlan } from '../src/plan/build.js';
import { defaultSpec } from '../src/spec/default.js';
import { SECCOMP_FILTER_FLAG, seccompFilterFlags } from '../src/security/seccomp.js';
import { NR, kernelLogOf, needsProbe, probeBinary, valueOf } from './security-helpers.js';

const ENOSPC = 28;

/** Listens at `path`; `receive()` accepts the one connection runt makes and reads it to its end. */
function agentSocket(t: Test, path: string) {
  const n = native();
  const listenFd = n.listenUnix(path);
  onTeardown(t, () => n.close(listenFd));
  return {
    async receive(): Promise<{ payload: string; fds: number[] }> {
      let conn = n.acceptUnix(listenFd);
      while (conn < 0) {
        await n.whenReadable(listenFd);
        conn = n.acceptUnix(listenFd);
      }
      let payload = '';
      const fds: number[] = [];
      try {
        for (;;) {
          const m = n.recvFd(conn);
          if (!m) {
            await n.whenReadable(conn);
            continue;
          }
          if (m.data === '' && m.fd < 0) break; // runt closed the connection, as the spec requires
          payload += m.data;
          if (m.fd >= 0) fds.push(m.fd);
        }
      } finally {
        n.close(conn);
      }
      for (const fd of fds) onTeardown(t, () => n.close(fd));
      return { payload, fds };
    },
  };
}

const notifyMkdir = (listenerPath: string, extra: Partial<Seccomp> = {}): Seccomp => ({
  defaultAction: 'SCMP_ACT_ALLOW',
  listenerPath,
  syscalls: [{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_NOTIFY' }],
  ...extra,
});

t.test('the agent receives the listener fd and the container process state, and can answer', { skip: needsProbe() }, async (t) => {
  const root = stateRoot(t);
  let listenerPath = '';
  const b = makeBundle(t, 'mkdir /dev/shm/d; echo "mkdir=$?"', (s, b) => {
    listenerPath = join(b.hostDir('agent'), 'agent.sock');
    s.linux!.seccomp = notifyMkdir(listenerPath, { listenerMetadata: 'opaque;data=1', flags: ['SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV'] });
    s.annotations = { 'org.example.key': 'value' };
  });
  const agent = agentSocket(t, listenerPath);

  const c = root.create(b);
  t.equal(c.code, 0, describe(c));
  const { payload, fds } = await agent.receive();
  t.equal(fds.length, 1, 'exactly one fd came with SCM_RIGHTS');
  t.equal(readlinkSync(`/proc/self/fd/${fds[0]}`), 'anon_inode:seccomp notify', 'and it is a seccomp listener');

  const state = JSON.parse(payload) as ContainerProcessState;
  const pid = root.state(c.id)!.pid;
  t.same(state.fds, ['seccompFd']);
  t.equal(state.pid, pid, 'pid of the container process as the runtime sees it');
  t.equal(state.metadata, 'opaque;data=1', 'listenerMetadata passed as metadata');
  t.equal(state.ociVersion, b.spec.ociVersion);
  t.match(state.state, {
    ociVersion: b.spec.ociVersion,
    id: c.id,
    status: 'creating',
    pid,
    bundle: b.dir,
    annotations: { 'org.example.key': 'value' },
  });

  // The agent: answers the container's one notified syscall with ENOSPC.
  const agentProc = spawn(probeBinary()!, ['agent', '3', String(ENOSPC)], { stdio: ['ignore', 'pipe', 'pipe', fds[0]] });
  let agentOut = '';
  agentProc.stdout!.on('data', (d: Buffer) => {
    agentOut += d.toString();
  });
  const agentDone = new Promise<number | null>((resolve) => agentProc.on('exit', resolve));
  onTeardown(t, () => {
    if (agentProc.exitCode === null) agentProc.kill('SIGKILL');
  });

  const s = root.runt(['start', c.id]);
  t.equal(s.code, 0, describe(s));
  const out = await waitForFile(join(b.dir, `${c.id}.stdout`), (text) => text.includes('mkdir='));
  t.equal(await agentDone, 0, `the agent answered: ${agentOut}`);
  t.match(agentOut, new RegExp(`^notified pid=\\d+ syscall=(${NR.mkdir}|258)$`, 'm'), 'the notification named mkdir');
  t.equal(valueOf(out, 'mkdir'), '1', "the container saw the agent's answer");
  t.match(await waitForFile(join(b.dir, `${c.id}.stderr`)), /No space left on device/, 'ENOSPC, chosen by the agent');
});

t.test('a large state (long metadata) arrives whole', async (t) => {
  const root = stateRoot(t);
  let listenerPath = '';
  const metadata = 'm'.repeat(600_000); // more than a unix socket buffer holds: runt must wait for the agent
  const b = makeBundle(t, 'true', (s, b) => {
    listenerPath = join(b.hostDir('agent'), 'agent.sock');
    s.linux!.seccomp = notifyMkdir(listenerPath, { listenerMetadata: metadata });
  });
  const agent = agentSocket(t, listenerPath);
  const id = root.id('big');
  const create = root.runtAsync(['create', '--bundle', b.dir, id], { stdoutFile: join(b.dir, 'out'), stderrFile: join(b.dir, 'err') });
  const { payload, fds } = await agent.receive();
  const r = await create.done;
  t.equal(r.code, 0, describe(r));
  t.equal(fds.length, 1, 'one fd, sent with the first part');
  t.equal((JSON.parse(payload) as ContainerProcessState).metadata, metadata);
});

t.test('no agent listening: create fails with one line and leaves nothing behind', async (t) => {
  const root = stateRoot(t);
  const b = makeBundle(t, 'true', (s, b) => {
    s.linux!.seccomp = notifyMkdir(join(b.dir, 'nobody.sock'));
  });
  const r = root.create(b);
  t.not(r.code, 0);
  const errs = errorLines(r);
  t.equal(errs.length, 1, JSON.stringify(r.stderr));
  t.match(errs[0] ?? '', /linux\.seccomp\.listenerPath: cannot send the seccomp listener to .*nobody\.sock/);
  t.same(leftovers(root.path, r.id, b.dir), []);
});

t.test('NOTIFY on the syscall that carries the listener is refused', async (t) => {
  const root = stateRoot(t);
  const b = makeBundle(t, 'true', (s, b) => {
    s.linux!.seccomp = {
      defaultAction: 'SCMP_ACT_ALLOW',
      listenerPath: join(b.dir, 'a.sock'),
      syscalls: [{ names: ['getpid', 'sendmsg'], action: 'SCMP_ACT_NOTIFY' }],
    };
  });
  const r = root.create(b);
  t.not(r.code, 0);
  t.same(errorLines(r), [
    'linux.seccomp.syscalls[0]: SCMP_ACT_NOTIFY cannot be used for "sendmsg": the runtime needs it to pass the listener fd',
  ]);
  t.same(leftovers(root.path, r.id, b.dir), []);
});

t.test('flags', async (t) => {
  const F = SECCOMP_FILTER_FLAG;
  const seccomp = (flags: Seccomp['flags'], notify = false): Seccomp => ({
    defaultAction: 'SCMP_ACT_ALLOW',
    flags,
    ...(notify ? { listenerPath: '/x', syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_NOTIFY' as const }] } : {}),
  });
  t.equal(
    seccompFilterFlags(seccomp(['SECCOMP_FILTER_FLAG_LOG', 'SECCOMP_FILTER_FLAG_SPEC_ALLOW', 'SECCOMP_FILTER_FLAG_TSYNC'])),
    F.LOG | F.SPEC_ALLOW | F.TSYNC,
  );
  t.equal(
    seccompFilterFlags(seccomp(['SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV'])),
    0,
    'WAIT_KILLABLE_RECV needs a listener (the kernel refuses it alone)',
  );
  t.equal(seccompFilterFlags(seccomp(['SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV'], true)), F.WAIT_KILLABLE_RECV | F.NEW_LISTENER);
  t.equal(
    seccompFilterFlags(seccomp(['SECCOMP_FILTER_FLAG_TSYNC'], true)),
    F.TSYNC | F.NEW_LISTENER | F.TSYNC_ESRCH,
    'TSYNC with a listener needs TSYNC_ESRCH',
  );
  t.equal(seccompFilterFlags(seccomp(undefined, true)), F.NEW_LISTENER, 'a NOTIFY rule asks for a listener');
  t.equal(seccompFilterFlags(undefined), 0);
});

t.test('the kernel accepts every flag together with a listener', async (t) => {
  const root = stateRoot(t);
  let listenerPath = '';
  const b = makeBundle(t, 'echo ran', (s, b) => {
    listenerPath = join(b.hostDir('agent'), 'agent.sock');
    s.linux!.seccomp = notifyMkdir(listenerPath, {
      flags: [
        'SECCOMP_FILTER_FLAG_TSYNC',
        'SECCOMP_FILTER_FLAG_LOG',
        'SECCOMP_FILTER_FLAG_SPEC_ALLOW',
        'SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV',
      ],
    });
  });
  const agent = agentSocket(t, listenerPath);
  const received = agent.receive();
  const r = root.run(b);
  t.equal(r.code, 0, describe(r));
  t.equal(r.stdout, 'ran\n');
  t.equal((await received).fds.length, 1);
});

t.test('SECCOMP_FILTER_FLAG_LOG: an ERRNO action is written to the audit log', async (t) => {
  const root = stateRoot(t);
  const b = makeBundle(t, 'sync; echo done', (s) => {
    s.linux!.seccomp = {
      defaultAction: 'SCMP_ACT_ALLOW',
      flags: ['SECCOMP_FILTER_FLAG_LOG'],
      syscalls: [{ names: ['sync'], action: 'SCMP_ACT_ERRNO', errnoRet: ENOSPC }],
    };
  });
  // The record names the action without its data: SECCOMP_RET_ERRNO is 0x00050000.
  const records = await kernelLogOf(
    () => {
      const r = root.run(b);
      t.equal(r.code, 0, describe(r));
    },
    (l) => l.includes('type=1326') && l.includes(`syscall=${NR.sync}`) && l.includes('code=0x50000'),
  );
  if (records === null) return t.skip('/dev/kmsg is not readable', () => {});
  t.ok(records.length > 0, `audit record of the ERRNO action: ${records.join(' | ')}`);
});

t.test('where the filter goes in the plan', async (t) => {
  const filter = new Uint8Array(8);
  const plan = (noNewPrivileges: boolean, seccomp: Seccomp) => {
    const spec: Spec = defaultSpec();
    spec.process!.noNewPrivileges = noNewPrivileges;
    spec.linux!.seccomp = seccomp;
    const steps = buildPlan(spec, {
      bundle: '/b',
      rootfs: '/b/rootfs',
      execFifoFd: 99,
      nsFds: {},
      noPivot: false,
      preserveFds: 0,
      trace: false,
      cgroupMounts: [],
      seccompFilter: filter,
      lastCap: 40,
    }).steps;
    const at = (op: string) => steps.findIndex((s) => s.op === op);
    const seccompStep = steps.find((s) => s.op === 'seccomp') as { flags: number } | undefined;
    const capsets = steps.flatMap((s, i) => (s.op === 'capset' ? [i] : []));
    return { seccomp: at('seccomp'), park: at('park'), exec: at('exec'), capsets, flags: seccompStep?.flags };
  };
  const plain: Seccomp = { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['sync'], action: 'SCMP_ACT_ERRNO' }] };
  const notify: Seccomp = {
    defaultAction: 'SCMP_ACT_ALLOW',
    listenerPath: '/a',
    syscalls: [{ names: ['sync'], action: 'SCMP_ACT_NOTIFY' }],
  };

  const late = plan(true, plain);
  t.equal(late.seccomp, late.exec - 1, 'no_new_privs: just before exec, after parking');
  const early = plan(false, plain);
  t.ok(early.seccomp > early.park, 'without no_new_privs: after parking too');
  t.same(
    early.capsets.map((i) => i - early.seccomp),
    [early.capsets[0] - early.seccomp, 1],
    'then one capset drops the CAP_SYS_ADMIN the load needed',
  );
  t.equal(early.exec, early.seccomp + 2, 'and the exec follows');
  const notified = plan(true, notify);
  t.equal(notified.seccomp, notified.park - 1, 'NOTIFY: just before parking (create exits once the init parks)');
  t.equal(notified.flags, SECCOMP_FILTER_FLAG.NEW_LISTENER, 'with NEW_LISTENER');
  const notifiedEarly = plan(false, notify);
  t.ok(notifiedEarly.seccomp < notifiedEarly.park, 'NOTIFY without no_new_privs: early, so before parking too');
});
