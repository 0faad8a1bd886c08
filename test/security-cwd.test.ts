// process.cwd = /proc/self/fd/N, the attack of CVE-2024-21626: tried with every fd number the init
// can hold when it changes directory, while runt holds a host directory. Each attempt must fail, or
// end with a working directory inside the container's root. (exec: security-cwd-exec.test.ts)
import t from 'tap';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, errorLines, leftovers, makeBundle, stateRoot } from './helpers/index.js';
import { MARKER, hostDirFd } from './security-helpers.js';

// Many containers, one after another: more than the runner's default timeout on a busy machine.
t.setTimeout(300_000);

/** Stdio plus a margin, and every fd a parked init actually holds (the init changes directory just
 *  before it parks, with the same fds). */
function candidateFds(parkedPid: number): number[] {
  const held = readdirSync(`/proc/${parkedPid}/fd`).map(Number);
  const all = new Set<number>([3, 4, 5, 6, 7, 8]);
  for (const fd of held) for (const n of [fd - 1, fd, fd + 1]) if (n >= 3) all.add(n);
  return [...all].sort((a, b) => a - b);
}

t.test('process.cwd through every fd the init can hold stays inside the root', async (t) => {
  const root = stateRoot(t);
  const probe = makeBundle(t, 'true');
  const probeHost = hostDirFd(t, probe);
  const probeId = root.id('fds');
  const parked = root.runt(['create', '--bundle', probe.dir, probeId], {
    extraFds: [probeHost.fd],
    stdoutFile: join(probe.dir, 'o'),
    stderrFile: join(probe.dir, 'e'),
  });
  t.equal(parked.code, 0, describe(parked));
  const fds = candidateFds(root.state(probeId)!.pid);
  t.equal(root.runt(['delete', '--force', probeId]).code, 0);
  t.comment(`trying fds ${fds.join(' ')}`);

  let refused = 0;
  for (const n of fds) {
    const b = makeBundle(t, 'pwd; ls', (s) => {
      s.process!.cwd = `/proc/self/fd/${n}`;
    });
    const host = hostDirFd(t, b);
    const r = root.run(b, undefined, [], { extraFds: [host.fd] });
    t.notMatch(r.stdout, MARKER, `fd ${n}: the host directory is not the cwd`);
    if (r.code === 0) {
      t.match(r.stdout, /^\//, `fd ${n}: the cwd is a path inside the root`);
    } else {
      refused += 1;
      t.equal(errorLines(r).length, 1, `fd ${n}: refused with one line: ${r.stderr.trim()}`);
    }
    t.same(leftovers(root.path, r.id, b.dir), [], `fd ${n}: nothing left behind`);
  }
  t.ok(refused > 0, 'some attempts reached a real fd and were refused or failed');
});
