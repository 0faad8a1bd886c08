// exec --cwd /proc/self/fd/N, the attack of CVE-2024-21626 against a process joining a running
// container, while runt holds a host directory: never the host directory; a preserved one is
// refused by the init's check that its cwd is under its root.
import t from 'tap';
import { join } from 'node:path';
import { describe, errorLines, makeBundle, stateRoot } from './helpers/index.js';
import { MARKER, hostDirFd } from './security-helpers.js';

// Many execs, one after another: more than the runner's default timeout on a busy machine.
t.setTimeout(300_000);

t.test('exec --cwd through a leaked or preserved fd never reaches the host', async (t) => {
  const root = stateRoot(t);
  const b = makeBundle(t, 'sleep 60');
  const host = hostDirFd(t, b);
  const id = root.id('execcwd');
  const c = root.runt(['create', '--bundle', b.dir, id], { stdoutFile: join(b.dir, 'o'), stderrFile: join(b.dir, 'e') });
  t.equal(c.code, 0, describe(c));
  t.equal(root.runt(['start', id]).code, 0);
  for (let n = 3; n <= 30; n++) {
    const r = root.runt(['exec', '--cwd', `/proc/self/fd/${n}`, id, 'sh', '-c', 'pwd; ls'], { extraFds: [host.fd] });
    t.notMatch(r.stdout, MARKER, `fd ${n}: not the host directory`);
    if (r.code === 0) t.match(r.stdout, /^\//, `fd ${n}: inside the root`);
  }
  const preserved = root.runt(['exec', '--preserve-fds', '1', '--cwd', '/proc/self/fd/3', id, 'ls'], { extraFds: [host.fd] });
  t.not(preserved.code, 0, 'a preserved host directory as the cwd is refused');
  t.notMatch(preserved.stdout, MARKER);
  t.match(errorLines(preserved).join('\n'), /outside the container's root/);
});
