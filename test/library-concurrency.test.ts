// Many containers at once from one process: the library must not serialise on a blocking call,
// collide on a shared file, or leave a zombie, a state directory or a cgroup behind.
import t from 'tap';
import { readdirSync, readFileSync } from 'node:fs';
import { Runtime } from '../src/index.js';
import { cgroupDirsNamed, makeBundle, stateRoot } from './helpers/index.js';

/** Pids of this process's children (every thread's), zombies included. */
function ourChildren(): number[] {
  const pids: number[] = [];
  for (const task of readdirSync('/proc/self/task')) {
    try {
      pids.push(...readFileSync(`/proc/self/task/${task}/children`, 'utf8').split(' ').filter(Boolean).map(Number));
    } catch {
      // thread gone
    }
  }
  return pids;
}

t.test('100 concurrent run()s of /bin/true all succeed and leave nothing behind', async (t) => {
  const root = stateRoot(t);
  const b = makeBundle(t, ['/bin/true']);
  const rt = new Runtime({ root: root.path });
  const before = new Set(ourChildren());
  const ids = Array.from({ length: 100 }, () => root.id('many'));
  const results = await Promise.allSettled(ids.map((id) => rt.run(id, b.dir, { stdio: 'ignore' })));
  const failed = results.flatMap((r, i) => (r.status === 'rejected' ? [`${ids[i]}: ${(r.reason as Error).message}`] : []));
  t.same(failed, [], 'no run() rejected');
  const codes = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value.code] : []));
  t.ok(
    codes.every((c) => c === 0),
    'every container exited 0',
  );
  t.same(root.entries(), [], 'no state directory left');
  t.same(
    ids.flatMap((id) => cgroupDirsNamed(id)),
    [],
    'no cgroup left',
  );
  t.same(
    ourChildren().filter((p) => !before.has(p)),
    [],
    'no child (or zombie) left',
  );
});

t.test('concurrent create, then start and delete of each, with pipes', async (t) => {
  const root = stateRoot(t);
  const b = makeBundle(t, 'hostname');
  const rt = new Runtime({ root: root.path });
  const ids = Array.from({ length: 30 }, () => root.id('pipes'));
  const outputs = await Promise.all(
    ids.map(async (id) => {
      const c = await rt.create(id, b.dir, { stdio: ['ignore', 'pipe', 'inherit'] });
      let text = '';
      c.stdout!.setEncoding('utf8').on('data', (d: string) => {
        text += d;
      });
      const closed = new Promise((r) => c.stdout!.on('close', r));
      await c.start();
      const st = await c.wait();
      await closed;
      await c.delete();
      return { st, text };
    }),
  );
  t.ok(
    outputs.every((o) => o.st.code === 0),
    'all exited 0',
  );
  t.ok(
    outputs.every((o) => o.text.length > 0),
    "each stream got its own container's output",
  );
  t.same(root.entries(), []);
});
