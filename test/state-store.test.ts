// The state directory: create's creating.json record, the final state.json, removal.
import t, { type Test } from 'tap';
import { existsSync, mkdtempSync, readdirSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StateStore, type SavedState } from '../src/state/store.js';
import { ContainerExistsError, ContainerNotFoundError } from '../src/errors.js';

function store(t: Test): StateStore {
  const root = mkdtempSync(join(tmpdir(), 'runt-store-'));
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  return new StateStore(join(root, 'state'));
}

const record = (id: string, extra: Partial<SavedState> = {}): SavedState => ({
  ociVersion: '1.2.0',
  id,
  pid: 0,
  pidStartTime: 0,
  bundle: '/b',
  rootfs: '/b/rootfs',
  created: new Date(0).toISOString(),
  annotations: {},
  creating: true,
  cgroupPaths: { memory: '/sys/fs/cgroup/memory/runt/x' },
  spec: { ociVersion: '1.2.0' },
  ...extra,
});

t.test('create writes creating.json once; readers see it until state.json exists', async (t) => {
  const s = store(t);
  const lock = s.claim('c1');
  t.equal(s.read('c1'), null, 'nothing written yet');
  s.writeCreating(record('c1'));
  t.same(s.read('c1')?.cgroupPaths, { memory: '/sys/fs/cgroup/memory/runt/x' }, 'the creating record');
  t.equal(s.read('c1')?.creating, true);
  t.throws(() => s.writeCreating(record('c1')), /EEXIST/, 'written once');
  s.write(record('c1', { creating: false, pid: 42 }));
  t.equal(s.read('c1')?.pid, 42, 'state.json wins');
  t.equal(s.read('c1')?.creating, false);
  t.same(readdirSync(s.dir('c1')).sort(), ['creating.json', 'state.json'], 'no temporary file left');
  // An incomplete state.json (a crash in the middle of a write) is not read.
  truncateSync(join(s.dir('c1'), 'state.json'), 10);
  t.equal(s.read('c1')?.creating, true, 'back to the creating record');
  t.throws(() => s.claim('c1'), ContainerExistsError);
  s.remove('c1');
  lock.releaseRemoved();
  t.notOk(existsSync(s.dir('c1')));
  t.throws(() => s.read('c1'), ContainerNotFoundError);
  // The id is free again at once.
  s.claim('c1').release();
  s.remove('c1');
});

t.test('remove takes unknown files with it, and a missing directory is fine', async (t) => {
  const s = store(t);
  s.claim('c2').release();
  s.writeCreating(record('c2'));
  writeFileSync(join(s.dir('c2'), 'state.json.tmp'), '{');
  writeFileSync(join(s.dir('c2'), 'exec.fifo'), '');
  s.remove('c2');
  t.notOk(existsSync(s.dir('c2')));
  s.remove('c2');
  t.same(s.ids(), []);
});
