// OCI hooks: all six kinds run, in order, each with the state JSON on stdin; in-container hooks run
// in the container's namespaces; failures and timeouts behave as the spec says.
import t from 'tap';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Hook, Spec } from '../src/spec/types.js';
import {
  describe,
  errorLines,
  isGone,
  leftovers,
  makeBundle,
  nsInode,
  processesMentioning,
  stateRoot,
  waitFor,
  waitForFile,
  type Bundle,
} from './helpers/index.js';

const PATH = 'PATH=/usr/sbin:/usr/bin:/sbin:/bin';

/** A hook script that appends "<name> <stdin>" to `log` (all paths as the hook sees them). */
function writeHook(path: string, log: string, extra = ''): void {
  writeFileSync(path, `#!/bin/sh\n${extra}\necho "$1 $(cat)" >> ${log}\n`);
  chmodSync(path, 0o755);
}

const hook = (path: string, name: string, more: Partial<Hook> = {}): Hook => ({ path, args: [path, name], env: [PATH], ...more });

interface LogEntry {
  name: string;
  state: { ociVersion: string; id: string; status: string; pid: number; bundle: string } | null;
  raw: string;
}
function readLog(path: string): LogEntry[] {
  let text = '';
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return [];
  }
  return text
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((raw) => {
      const i = raw.indexOf(' ');
      const name = i < 0 ? raw : raw.slice(0, i);
      let state = null;
      try {
        state = JSON.parse(raw.slice(i + 1));
      } catch {
        /* not JSON */
      }
      return { name, state, raw };
    });
}

t.test('all hooks run in order with the state on stdin', async (t) => {
  const root = stateRoot(t);
  let logDir = '';
  const b = makeBundle(t, 'echo "process $$" >> /hooklog/log', (s: Spec, b: Bundle) => {
    logDir = b.share('/hooklog');
    const log = join(logDir, 'log');
    const hostHook = join(b.dir, 'hook.sh');
    writeHook(hostHook, log);
    writeHook(join(b.rootfs, 'hook.sh'), '/hooklog/log');
    s.hooks = {
      prestart: [hook(hostHook, 'prestart')],
      createRuntime: [hook(hostHook, 'createRuntime')],
      // Resolved in the container's mount namespace before pivot_root: the host path still works.
      createContainer: [hook(hostHook, 'createContainer')],
      // After pivot_root: the script must be inside the rootfs.
      startContainer: [hook('/hook.sh', 'startContainer')],
      poststart: [hook(hostHook, 'poststart')],
      poststop: [hook(hostHook, 'poststop')],
    };
  });
  const log = join(logDir, 'log');

  const c = root.create(b);
  t.equal(c.code, 0, describe(c));
  const pid = root.state(c.id)?.pid ?? 0;
  t.same(
    readLog(log).map((e) => e.name),
    ['prestart', 'createRuntime', 'createContainer'],
    'create runs the first three',
  );

  const s = root.runt(['start', c.id]);
  t.equal(s.code, 0, describe(s));
  await waitForFile(log, (text) => /^process /m.test(text) && /^poststart /m.test(text));
  t.equal((await root.waitStopped(c.id))?.status, 'stopped');
  const d = root.runt(['delete', c.id]);
  t.equal(d.code, 0, describe(d));

  const entries = readLog(log);
  const names = entries.map((e) => e.name);
  t.same(
    [...names].sort(),
    ['createContainer', 'createRuntime', 'poststart', 'poststop', 'prestart', 'process', 'startContainer'],
    'each ran once',
  );
  const at = (n: string) => names.indexOf(n);
  t.ok(at('prestart') < at('createRuntime') && at('createRuntime') < at('createContainer'), 'prestart, createRuntime, createContainer');
  t.ok(at('createContainer') < at('startContainer') && at('startContainer') < at('process'), 'startContainer runs before the process');
  t.ok(at('createContainer') < at('poststart'), 'poststart after create');
  t.equal(at('poststop'), names.length - 1, 'poststop last');

  const expected: Record<string, { status: string; pid?: number }> = {
    // runtime-spec 1.3 runtime.md: hooks of lifecycle steps 3-7 run after the create operation (step 2).
    prestart: { status: 'created', pid },
    createRuntime: { status: 'created', pid },
    // In-container hooks see the pid as the container sees it (runtime.md, "State"): 1 in its PID namespace.
    createContainer: { status: 'created', pid: 1 },
    startContainer: { status: 'created', pid: 1 },
    poststart: { status: 'running', pid },
    poststop: { status: 'stopped' },
  };
  for (const e of entries) {
    if (e.name === 'process') continue;
    t.ok(e.state, `${e.name}: stdin was JSON (${e.raw})`);
    t.equal(e.state?.id, c.id, `${e.name}: id`);
    t.equal(e.state?.bundle, b.dir, `${e.name}: bundle`);
    t.ok(e.state?.ociVersion, `${e.name}: ociVersion`);
    t.equal(e.state?.status, expected[e.name].status, `${e.name}: status`);
    if (expected[e.name].pid !== undefined) t.equal(e.state?.pid, expected[e.name].pid, `${e.name}: pid`);
  }
});

t.test('hooks run in the right namespaces', async (t) => {
  const root = stateRoot(t);
  let logDir = '';
  const b = makeBundle(t, 'true', (s, b) => {
    logDir = b.hostDir('log');
    const script = join(b.dir, 'ns.sh');
    writeFileSync(script, `#!/bin/sh\necho "$1 $(readlink /proc/self/ns/net) $(readlink /proc/self/ns/mnt)" >> ${logDir}/ns\n`);
    chmodSync(script, 0o755);
    s.hooks = { createRuntime: [hook(script, 'createRuntime')], createContainer: [hook(script, 'createContainer')] };
  });
  const c = root.create(b);
  t.equal(c.code, 0, describe(c));
  const pid = root.state(c.id)?.pid ?? 0;
  const byName = Object.fromEntries(
    readFileSync(join(logDir, 'ns'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => {
        const [name, net, mnt] = l.split(' ');
        return [name, { net, mnt }];
      }),
  );
  t.same(byName.createRuntime, { net: nsInode('self', 'net'), mnt: nsInode('self', 'mnt') }, "createRuntime: the runtime's namespaces");
  t.same(byName.createContainer, { net: nsInode(pid, 'net'), mnt: nsInode(pid, 'mnt') }, "createContainer: the container's namespaces");
});

t.test('a failing prestart hook fails create and leaves nothing behind', async (t) => {
  const root = stateRoot(t);
  const b = makeBundle(t, 'true', (s, b) => {
    const script = join(b.dir, 'fail.sh');
    writeFileSync(script, '#!/bin/sh\necho "hook says no" >&2\nexit 3\n');
    chmodSync(script, 0o755);
    s.hooks = { prestart: [hook(script, 'prestart')] };
  });
  const c = root.create(b);
  t.not(c.code, 0, 'create fails');
  t.equal(errorLines(c).length, 1, `one line on stderr: ${JSON.stringify(c.stderr)}`);
  t.match(c.stderr, 'hooks.prestart[0]', 'naming the hook');
  t.same(root.entries(), [], 'no state directory');
  t.same(leftovers(root.path, c.id, b.dir), [], 'no cgroup, mount or process');
});

t.test('a failing poststart hook fails start and destroys the container (1.3); a failing poststop hook only warns', async (t) => {
  const root = stateRoot(t);
  const b = makeBundle(t, ['sleep', '1000'], (s, b) => {
    const script = join(b.dir, 'fail.sh');
    writeFileSync(script, '#!/bin/sh\nexit 1\n');
    chmodSync(script, 0o755);
    const marker = join(b.dir, 'poststop-ran');
    const mark = join(b.dir, 'mark.sh');
    writeFileSync(mark, `#!/bin/sh\necho ran >> ${marker}\n`);
    chmodSync(mark, 0o755);
    s.hooks = { poststart: [hook(script, 'poststart')], poststop: [hook(script, 'poststop'), hook(mark, 'poststop')] };
  });
  const c = root.create(b);
  t.equal(c.code, 0, describe(c));
  const pid = root.state(c.id)?.pid ?? 0;
  const s = root.runt(['start', c.id]);
  t.not(s.code, 0, `start fails: ${describe(s)}`);
  t.match(s.stderr, 'hooks.poststart[0]', 'naming the hook');
  t.ok(pid > 0 && (await waitFor('the init to be gone', () => isGone(pid))), 'the container process is stopped');
  t.equal(root.state(c.id), undefined, 'and the container destroyed');
  t.match(s.stderr, 'hooks.poststop[0]', 'the poststop hooks ran: a failing one warns');
  t.equal(readFileSync(join(b.dir, 'poststop-ran'), 'utf8'), 'ran\n', 'and the rest still run');
  const d = root.runt(['delete', '--force', c.id]);
  t.equal(d.code, 0, `delete --force of the destroyed container succeeds: ${describe(d)}`);
  t.same(leftovers(root.path, c.id, b.dir), []);
});

t.test('hook timeouts are enforced', async (t) => {
  const root = stateRoot(t);
  for (const kind of ['prestart', 'createRuntime', 'createContainer'] as const) {
    t.test(kind, async (t) => {
      // A sleep with a duration no other process has, to find it afterwards.
      const marker = `29.${process.pid}${kind.length}`;
      const b = makeBundle(t, 'true', (s, b) => {
        const script = join(b.dir, 'slow.sh');
        writeFileSync(script, `#!/bin/sh\nexec sleep ${marker}\n`);
        chmodSync(script, 0o755);
        s.hooks = { [kind]: [hook(script, kind, { timeout: 1 })] };
      });
      const c = root.runt(['create', '--bundle', b.dir, root.id('timeout')], {
        timeoutMs: 20_000,
        stdoutFile: join(b.dir, 'out'),
        stderrFile: join(b.dir, 'err'),
      });
      t.notOk(c.timedOut, 'create returns on its own');
      t.not(c.code, 0, 'create fails');
      t.equal(errorLines(c).length, 1, `one line: ${JSON.stringify(c.stderr)}`);
      t.match(c.stderr, `hooks.${kind}[0]`, 'naming the hook');
      t.same(root.entries(), [], 'no state directory');
      await waitFor('the hook process to be gone', () => processesMentioning(marker).every(isGone) || undefined, 5000).catch(() => {});
      t.same(processesMentioning(marker), [], 'the hook process was killed');
    });
  }
});
