// exec takes the container's seccomp filter: the same rules apply to the exec'd process, and with a
// notify rule its own listener goes to the container's seccomp agent (linux.seccomp.listenerPath).
import t from 'tap';
import { join } from 'node:path';
import { ConsoleSocket } from '../src/terminal/console-socket.js';
import { native } from '../src/native.js';
import { describe, makeBundle, stateRoot } from './helpers/index.js';
import type { Seccomp } from '../src/spec/types.js';

const allowAllBut = (rule: Seccomp['syscalls']): Seccomp => ({
  defaultAction: 'SCMP_ACT_ALLOW',
  architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32'],
  syscalls: rule,
});

t.test("an exec'd process runs under the container's filter", async (t) => {
  const root = stateRoot(t);
  const b = makeBundle(t, ['sleep', '1000'], (spec) => {
    spec.linux!.seccomp = allowAllBut([{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO', errnoRet: 28 }]);
  });
  const id = root.id('seccomp');
  const run = root.runt(['run', '-d', '--bundle', b.dir, id], { stdoutFile: join(b.dir, 'o'), stderrFile: join(b.dir, 'e') });
  t.equal(run.code, 0, describe(run));
  const r = root.runt(['exec', id, 'sh', '-c', 'grep ^Seccomp: /proc/self/status; mkdir /tmp/x 2>&1; echo rc=$?']);
  t.equal(r.code, 0, describe(r));
  t.match(r.stdout, /^Seccomp:\t2$/m, 'filter mode');
  t.match(r.stdout, /No space left on device/, "the rule's errno (ENOSPC) for mkdir");
  t.match(r.stdout, /rc=1/);
});

t.test("with a notify rule, the exec'd process's listener goes to the agent with its pid", async (t) => {
  const root = stateRoot(t);
  let agentPath = '';
  const b = makeBundle(t, ['sleep', '1000'], (spec, bundle) => {
    agentPath = join(bundle.hostDir('agent'), 'agent.sock');
    spec.linux!.seccomp = {
      ...allowAllBut([{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_NOTIFY' }]),
      listenerPath: agentPath,
      listenerMetadata: 'meta',
    };
  });
  const agent = new ConsoleSocket(agentPath); // any receiver of one fd with SCM_RIGHTS will do
  t.teardown(() => agent.close());
  const id = root.id('notify');
  const fromInit = agent.receive();
  const run = root.runt(['run', '-d', '--bundle', b.dir, id], { stdoutFile: join(b.dir, 'o'), stderrFile: join(b.dir, 'e') });
  t.equal(run.code, 0, describe(run));
  const init = await fromInit;
  native().close(init.fd);

  const fromExec = agent.receive();
  const pidFile = join(b.dir, 'exec.pid');
  const r = root.runt(['exec', '--pid-file', pidFile, id, 'true']);
  t.equal(r.code, 0, describe(r));
  const got = await fromExec;
  t.ok(got.fd >= 0, "a listener fd for the exec'd process");
  native().close(got.fd);
  const state = JSON.parse(got.data) as { fds: string[]; pid: number; metadata: string; state: { id: string; status: string } };
  const { readFileSync } = await import('node:fs');
  t.equal(state.pid, Number(readFileSync(pidFile, 'utf8')), "the state names the exec'd process");
  t.same(state.fds, ['seccompFd']);
  t.equal(state.metadata, 'meta');
  t.equal(state.state.id, id);
  t.equal(state.state.status, 'running');
});
