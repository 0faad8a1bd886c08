// The create/start split, state, delete, and the errors of the lifecycle commands.
import t from 'tap';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cmdline, describe, errorLines, isGone, leftovers, makeBundle, stateRoot, waitFor, waitForFile } from './helpers/index.js';

// Writes a marker, then waits until the test creates /m/go, then exits.
const WORK = 'echo started > /m/marker; until [ -e /m/go ]; do sleep 0.05; done; echo done > /m/done';

t.test('create parks the init; start runs the process; delete removes it', async (t) => {
  const root = stateRoot(t);
  let share = '';
  const b = makeBundle(t, WORK, (_s, b) => {
    share = b.share('/m');
  });

  const c = root.create(b);
  t.equal(c.code, 0, describe(c));
  const created = root.state(c.id);
  t.equal(created?.status, 'created', 'state says created');
  t.equal(created?.id, c.id);
  t.equal(created?.bundle, b.dir, 'state names the bundle');
  const pid = created?.pid ?? 0;
  t.ok(pid > 0, 'with a pid');
  t.ok(existsSync(`/proc/${pid}`), '/proc/PID exists');
  t.notOk(isGone(pid), 'the init is alive');
  t.notOk(cmdline(pid).join(' ').includes('until [ -e /m/go ]'), "the init has not exec'd the user's command");
  t.notOk(existsSync(join(share, 'marker')), 'the process has not run yet');

  const s = root.runt(['start', c.id]);
  t.equal(s.code, 0, describe(s));
  t.equal(await waitForFile(join(share, 'marker')), 'started\n', 'start ran the process');
  const running = root.state(c.id);
  t.equal(running?.status, 'running');
  t.equal(running?.pid, pid, 'same init pid');
  t.same(cmdline(pid), ['sh', '-c', WORK], "the init exec'd the configured args");

  const again = root.runt(['start', c.id]);
  t.not(again.code, 0, 'a second start fails');
  t.equal(errorLines(again).length, 1, `one line on stderr: ${again.stderr}`);
  t.match(again.stderr, c.id, 'naming the container');

  writeFileSync(join(share, 'go'), '');
  await waitForFile(join(share, 'done'));
  await waitFor('the init to exit', () => isGone(pid));
  const stopped = root.state(c.id);
  t.equal(stopped?.status, 'stopped', 'state after the process exited: stopped');
  t.equal(stopped?.id, c.id);

  const d = root.runt(['delete', c.id]);
  t.equal(d.code, 0, describe(d));
  t.notOk(existsSync(join(root.path, c.id)), 'state directory removed');
  t.same(leftovers(root.path, c.id, b.dir), []);
});

t.test('delete without --force refuses a running container; with --force kills it', async (t) => {
  const root = stateRoot(t);
  const b = makeBundle(t, ['sleep', '1000']);
  const c = root.create(b);
  t.equal(c.code, 0, describe(c));
  t.equal(root.runt(['start', c.id]).code, 0);
  const pid = root.state(c.id)?.pid ?? 0;
  const d = root.runt(['delete', c.id]);
  t.not(d.code, 0, 'plain delete of a running container fails');
  t.equal(errorLines(d).length, 1, `one line: ${d.stderr}`);
  t.match(d.stderr, c.id);
  t.equal(root.state(c.id)?.status, 'running', 'and leaves it running');
  const f = root.runt(['delete', '--force', c.id]);
  t.equal(f.code, 0, describe(f));
  t.ok(isGone(pid), 'the init is gone');
  t.same(leftovers(root.path, c.id, b.dir), []);
});

t.test('a created container can be deleted without starting it', async (t) => {
  const root = stateRoot(t);
  const b = makeBundle(t, ['true']);
  const c = root.create(b);
  t.equal(c.code, 0, describe(c));
  const pid = root.state(c.id)?.pid ?? 0;
  const d = root.runt(['delete', c.id]);
  t.equal(d.code, 0, describe(d));
  t.ok(isGone(pid), 'the parked init is gone');
  t.same(leftovers(root.path, c.id, b.dir), []);
});

t.test('unknown ids: non-zero exit and one line naming the id', async (t) => {
  const root = stateRoot(t);
  const id = root.id('nosuch');
  for (const args of [
    ['state', id],
    ['start', id],
    ['kill', id, 'KILL'],
    ['delete', id],
  ]) {
    const r = root.runt(args);
    t.not(r.code, 0, `${args[0]} fails`);
    t.equal(errorLines(r).length, 1, `${args[0]}: one line on stderr: ${JSON.stringify(r.stderr)}`);
    t.match(r.stderr, id, `${args[0]}: the line names the id`);
    t.equal(r.stdout, '', `${args[0]}: nothing on stdout`);
  }
  const f = root.runt(['delete', '--force', id]);
  t.equal(f.code, 0, `delete --force of a missing container succeeds (engines delete twice): ${describe(f)}`);
  t.same(root.entries(), []);
});

t.test('a duplicate id is refused and the first container is untouched', async (t) => {
  const root = stateRoot(t);
  let share = '';
  const first = makeBundle(t, 'echo first > /m/who; sleep 1000', (_s, b) => {
    share = b.share('/m');
  });
  const second = makeBundle(t, ['true']);
  const c = root.create(first);
  t.equal(c.code, 0, describe(c));
  const before = root.state(c.id);
  const stateFile = readFileSync(join(root.path, c.id, 'state.json'), 'utf8');

  const dup = root.create(second, c.id);
  t.not(dup.code, 0, 'the second create fails');
  t.equal(errorLines(dup).length, 1, `one line: ${dup.stderr}`);
  t.match(dup.stderr, c.id, 'naming the id');

  t.same(root.state(c.id), before, "the first container's state is unchanged");
  t.equal(readFileSync(join(root.path, c.id, 'state.json'), 'utf8'), stateFile, 'its state file is unchanged');
  t.same(root.entries(), [c.id]);
  t.same(leftovers(root.path, 'no-such', second.dir), [], 'no mount of the second bundle');
  const s = root.runt(['start', c.id]);
  t.equal(s.code, 0, `the first container still starts: ${describe(s)}`);
  t.equal(await waitForFile(join(share, 'who')), 'first\n');
});
