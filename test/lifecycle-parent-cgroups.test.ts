// The shared `runt` parent cgroups of the default path: removed at once by a delete outside a
// Runtime, after an idle second (or at exit) by a Runtime. Plain directories stand in for cgroups:
// rmdir behaves alike (it refuses while something is inside).
import t, { type Test } from 'tap';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ParentCgroups, removeDefaultParents } from '../src/lifecycle/parent-cgroups.js';

function hierarchies(t: Test): { root: string; paths: (id: string) => Record<string, string> } {
  const root = mkdtempSync(join(tmpdir(), 'runt-parents-'));
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  for (const d of ['cpu/runt', 'memory/runt', 'memory/custom']) mkdirSync(join(root, d), { recursive: true });
  return {
    root,
    paths: (id) => ({ cpu: join(root, 'cpu/runt', id), memory: join(root, 'memory/runt', id), other: join(root, 'memory/custom', id) }),
  };
}

t.test('without a Runtime: removed at once, left while in use', async (t) => {
  const { root, paths } = hierarchies(t);
  mkdirSync(join(root, 'memory/runt/busy'));
  removeDefaultParents(paths('gone'));
  t.notOk(existsSync(join(root, 'cpu/runt')), 'an empty parent goes');
  t.ok(existsSync(join(root, 'memory/runt')), 'one with a container in it stays');
});

t.test('a Runtime keeps them until it has been idle, then removes them', async (t) => {
  const { root, paths } = hierarchies(t);
  const p = new ParentCgroups();
  p.released(paths('a'));
  t.ok(existsSync(join(root, 'cpu/runt')), 'kept for the next container');
  await new Promise((r) => setTimeout(r, 600));
  p.released(paths('b'));
  await new Promise((r) => setTimeout(r, 600));
  t.ok(existsSync(join(root, 'cpu/runt')), 'each delete restarts the idle time');
  await new Promise((r) => setTimeout(r, 700));
  t.notOk(existsSync(join(root, 'cpu/runt')), 'removed after an idle second');
  t.notOk(existsSync(join(root, 'memory/runt')));
  t.ok(existsSync(join(root, 'memory/custom')), 'a parent not named runt is not touched');
  mkdirSync(join(root, 'cpu/runt'));
  p.released(paths('c'));
  p.flush();
  t.notOk(existsSync(join(root, 'cpu/runt')), 'flush removes them now');
});
