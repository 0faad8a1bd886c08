// The smaller commands: spec, list, kill with signal names.
import t from 'tap';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { validateSpec } from '../src/spec/validate.js';
import { describe, errorLines, isGone, makeBundle, removeAtTeardown, runt, stateRoot, waitFor, waitForFile } from './helpers/index.js';

t.test('runt spec writes a valid config and refuses to overwrite it', async (t) => {
  const dir = mkdtempSync('/tmp/runt-test-');
  removeAtTeardown(t, dir);
  const r = runt(['spec', '--bundle', dir]);
  t.equal(r.code, 0, describe(r));
  const file = join(dir, 'config.json');
  const text = readFileSync(file, 'utf8');
  t.doesNotThrow(() => validateSpec(JSON.parse(text)), 'the config validates');

  const again = runt(['spec', '--bundle', dir]);
  t.not(again.code, 0, 'a second spec fails');
  t.equal(errorLines(again).length, 1, `one line: ${JSON.stringify(again.stderr)}`);
  t.match(again.stderr, 'config.json', 'naming the file');
  t.equal(readFileSync(file, 'utf8'), text, 'the file is unchanged');

  rmSync(file);
  const cwd = runt(['spec'], { cwd: dir });
  t.equal(cwd.code, 0, `without --bundle it writes into the cwd: ${describe(cwd)}`);
  t.equal(readFileSync(file, 'utf8'), text);
});

t.test('list shows the containers with their status', async (t) => {
  const root = stateRoot(t);
  const empty = root.runt(['list', '--format', 'json']);
  t.equal(empty.code, 0, describe(empty));
  t.ok(['', '[]', 'null'].includes(empty.stdout.trim()), `an empty root lists nothing (${empty.stdout.trim()})`);

  const b = makeBundle(t, ['sleep', '1000']);
  const created = root.create(b);
  const running = root.create(b);
  const stopped = root.create(makeBundle(t, ['true']));
  for (const c of [created, running, stopped]) t.equal(c.code, 0, describe(c));
  t.equal(root.runt(['start', running.id]).code, 0);
  t.equal(root.runt(['start', stopped.id]).code, 0);
  t.equal((await root.waitStopped(stopped.id))?.status, 'stopped');
  const want: Record<string, string> = { [created.id]: 'created', [running.id]: 'running', [stopped.id]: 'stopped' };
  const ids = Object.keys(want).sort();

  const table = root.runt(['list']);
  t.equal(table.code, 0, describe(table));
  const [header, ...rows] = table.stdout.trim().split('\n');
  t.match(header, /^ID\s+PID\s+STATUS\s+BUNDLE\s+CREATED\s+OWNER$/, 'table header');
  t.same(rows.map((r) => r.split(/\s+/)[0]).sort(), ids, 'one row per container');
  for (const row of rows) {
    const [id, pid, status, bundle] = row.split(/\s+/);
    t.equal(status, want[id], `${id}: ${status}`);
    t.ok(Number(pid) >= 0, 'a pid column');
    t.ok(bundle.startsWith('/tmp/runt-test-'), 'the bundle column');
  }

  const json = root.runt(['list', '--format', 'json']);
  t.equal(json.code, 0, describe(json));
  const list = JSON.parse(json.stdout) as Array<{ id: string; status: string; pid: number; bundle: string }>;
  t.same(list.map((c) => c.id).sort(), ids);
  for (const c of list) {
    t.equal(c.status, want[c.id], `json ${c.id}: ${c.status}`);
    if (c.status !== 'stopped') t.equal(c.pid, root.state(c.id)?.pid, `json ${c.id}: pid`);
  }

  const quiet = root.runt(['list', '-q']);
  t.equal(quiet.code, 0, describe(quiet));
  t.same(quiet.stdout.trim().split('\n').sort(), ids, '-q prints the ids only');
});

t.test('kill delivers signals given by name or number', async (t) => {
  const root = stateRoot(t);
  let m = '';
  const b = makeBundle(
    t,
    "trap 'echo usr1 >> /m/got' USR1; trap 'echo term >> /m/got' TERM; echo ready > /m/ready; while :; do sleep 0.05; done",
    (_s, b) => {
      m = b.share('/m');
    },
  );
  const c = root.create(b);
  t.equal(c.code, 0, describe(c));
  t.equal(root.runt(['start', c.id]).code, 0);
  await waitForFile(join(m, 'ready'));
  const sent: string[] = [];
  for (const [sig, line] of [
    ['USR1', 'usr1'],
    ['SIGUSR1', 'usr1'],
    ['10', 'usr1'],
    ['usr1', 'usr1'],
    [undefined, 'term'],
    ['TERM', 'term'],
  ] as const) {
    const r = root.runt(sig ? ['kill', c.id, sig] : ['kill', c.id]);
    t.equal(r.code, 0, `kill ${sig ?? '(default)'}: ${describe(r)}`);
    sent.push(line);
    const got = await waitForFile(join(m, 'got'), (text) => text.split('\n').filter(Boolean).length === sent.length);
    t.same(got.trim().split('\n'), sent, `${sig ?? 'the default SIGTERM'} arrived`);
  }
  t.equal(root.state(c.id)?.status, 'running', 'the trapped signals did not stop it');

  for (const sig of ['KILL', 'SIGKILL', '9']) {
    const k = root.create(makeBundle(t, ['sleep', '1000']));
    t.equal(k.code, 0, describe(k));
    const pid = root.state(k.id)?.pid ?? 0;
    const r = root.runt(['kill', k.id, sig]);
    t.equal(r.code, 0, `kill ${sig}: ${describe(r)}`);
    await waitFor(`${sig} to end the init`, () => isGone(pid));
    t.equal(root.state(k.id)?.status, 'stopped', `${sig} stopped the created container`);
  }
  writeFileSync(join(m, 'done'), '');
});

t.test('--version names the libseccomp runt is linked with, as runc does', async (t) => {
  const { execFileSync } = await import('node:child_process');
  let installed: string | undefined;
  try {
    // Debian: "2.5.4-1+deb12u1" → the upstream version "2.5.4".
    installed = execFileSync('dpkg-query', ['-W', '-f', '${Version}', 'libseccomp2'], { encoding: 'utf8' })
      .replace(/^\d+:/, '')
      .split('-')[0];
  } catch {
    installed = undefined;
  }
  // The fast path (--version alone) and yargs (with a global flag before it) print the same.
  for (const args of [['--version'], ['-v'], ['--debug', '--version']]) {
    const r = runt(args);
    t.equal(r.code, 0, describe(r));
    const lines = r.stdout.trim().split('\n');
    t.match(lines[0], /^runt version \d+\.\d+\.\d+/, args.join(' '));
    t.equal(lines[1], 'spec: 1.3.0');
    t.match(lines[2], /^libseccomp: \d+\.\d+\.\d+$/, `${args.join(' ')}: ${lines[2]}`);
    if (installed) t.equal(lines[2], `libseccomp: ${installed}`, 'the installed library');
  }
});
