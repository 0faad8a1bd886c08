// NOTIFY_SOCKET (the sd_notify proxy, as runc does it): with the variable in runt's environment, the
// container gets its own socket at /run/notify/notify.sock, and `start` returns once the container
// said READY=1, which reaches the caller's socket with MAINPID = the init's pid. The sender inside is
// busybox logger: glibc's syslog() writes one datagram to /dev/log, here a link to the notify socket.
import t from 'tap';
import { join } from 'node:path';
import { native } from '../src/native.js';
import { describe, makeBundle, stateRoot } from './helpers/index.js';

/** Runs fn with NOTIFY_SOCKET set in this process's environment (runt inherits it). */
function withNotifySocket<T>(path: string, fn: () => T): T {
  const before = process.env.NOTIFY_SOCKET;
  process.env.NOTIFY_SOCKET = path;
  try {
    return fn();
  } finally {
    if (before === undefined) delete process.env.NOTIFY_SOCKET;
    else process.env.NOTIFY_SOCKET = before;
  }
}

t.test('start waits for READY=1 from the container and relays it with MAINPID', async (t) => {
  const root = stateRoot(t);
  const n = native();
  const b = makeBundle(
    t,
    'echo "env=$NOTIFY_SOCKET"; ln -sf /run/notify/notify.sock /dev/log; sleep 0.2; busybox logger -t app "$(printf \'\\nREADY=1\')"; exec sleep 1000',
  );
  const hostPath = join(b.dir, 'host-notify.sock');
  const host = n.bindUnixDgram(hostPath, 0o600);
  t.teardown(() => n.close(host));
  const id = root.id('notify');
  const r = withNotifySocket(hostPath, () =>
    root.runt(['run', '-d', '--bundle', b.dir, id], { stdoutFile: join(b.dir, 'out'), stderrFile: join(b.dir, 'err') }),
  );
  t.equal(r.code, 0, describe(r));
  const msg = n.recvDgram(host);
  t.ok(msg !== null, "run -d returned after a message reached the caller's socket");
  const pid = root.state(id)?.pid;
  t.match(msg ?? '', new RegExp(`^MAINPID=${pid}\\n`), 'MAINPID is the init');
  t.ok((msg ?? '').split('\n').includes('READY=1'), "with the container's READY=1");
  t.equal(root.runt(['delete', '--force', id]).code, 0);
});

t.test('a container that exits without READY=1 does not hang start', async (t) => {
  const root = stateRoot(t);
  const n = native();
  const b = makeBundle(t, 'true');
  const hostPath = join(b.dir, 'host-notify.sock');
  const host = n.bindUnixDgram(hostPath, 0o600);
  t.teardown(() => n.close(host));
  const id = root.id('notify-none');
  const r = withNotifySocket(hostPath, () =>
    root.runt(['run', '-d', '--bundle', b.dir, id], { stdoutFile: join(b.dir, 'out'), stderrFile: join(b.dir, 'err'), timeoutMs: 20_000 }),
  );
  t.notOk(r.timedOut, 'start returned on its own');
  t.equal(r.code, 0, describe(r));
  t.equal(n.recvDgram(host), null, 'nothing was relayed');
  t.equal(root.runt(['delete', '--force', id]).code, 0);
});

t.test('without NOTIFY_SOCKET nothing is added to the container', async (t) => {
  const root = stateRoot(t);
  const b = makeBundle(t, 'echo "env=${NOTIFY_SOCKET-unset}"; ls /run/notify 2>&1 | head -1');
  const before = process.env.NOTIFY_SOCKET;
  delete process.env.NOTIFY_SOCKET;
  try {
    const r = root.run(b);
    t.equal(r.code, 0, describe(r));
    t.match(r.stdout, /^env=unset\n.*No such file or directory/, 'no variable, no mount');
  } finally {
    if (before !== undefined) process.env.NOTIFY_SOCKET = before;
  }
});
