// Bad input: one line on stderr naming what is wrong, a non-zero exit, and nothing left behind
// (state directory, cgroup, host mount, process).
import t from 'tap';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Spec } from '../src/spec/types.js';
import { describe, errorLines, leftovers, makeBundle, stateRoot, type Bundle } from './helpers/index.js';

type Loose = Record<string, any>;

interface Case {
  name: string;
  /** What the error line must contain. */
  names: string | RegExp;
  patch: (spec: Spec & Loose, bundle: Bundle) => void;
}

const cases: Case[] = [
  {
    name: 'malformed config.json',
    names: 'config.json',
    patch: (_s, b) => {
      b.write = () => writeFileSync(b.configPath, '{"ociVersion": "1.0.2", "process": {');
    },
  },
  {
    name: 'wrong type: args is a string',
    names: 'process.args',
    patch: (s) => {
      s.process!.args = 'sh' as never;
    },
  },
  {
    name: 'missing rootfs',
    names: 'root.path',
    patch: (_s, b) => {
      rmSync(b.rootfs, { recursive: true, force: true });
    },
  },
  {
    name: 'unknown namespace type',
    names: /linux\.namespaces\[5\]/,
    patch: (s) => {
      s.linux!.namespaces!.push({ type: 'bogus' as never });
    },
  },
  {
    name: 'impossible mount (unknown filesystem type)',
    names: /mounts\[7\]/,
    patch: (s) => {
      s.mounts!.push({ destination: '/weird', type: 'nosuchfs', source: 'none' });
    },
  },
  {
    name: 'bind mount of a missing source',
    names: /mounts\[7\]/,
    patch: (s, b) => {
      s.mounts!.push({ destination: '/weird', type: 'bind', source: join(b.dir, 'missing'), options: ['rbind'] });
    },
  },
  {
    name: 'executable not found',
    names: 'process.args',
    patch: (s) => {
      s.process!.args = ['/no/such/binary'];
    },
  },
  {
    name: 'cwd is a file',
    names: 'process.cwd',
    patch: (s) => {
      s.process!.cwd = '/bin/busybox';
    },
  },
  {
    name: 'sysctl that does not exist',
    names: 'linux.sysctl',
    patch: (s) => {
      s.linux!.sysctl = { 'net.ipv4.no_such_knob': '1' };
    },
  },
];

for (const c of cases) {
  t.test(c.name, async (t) => {
    const root = stateRoot(t);
    const b = makeBundle(t, 'true', c.patch as (s: Spec, b: Bundle) => void);
    for (const command of ['create', 'run']) {
      const id = root.id('bad');
      const r = command === 'create' ? root.create(b, id) : root.run(b, id);
      t.not(r.code, 0, `${command} fails: ${describe(r)}`);
      t.notOk(r.timedOut, `${command} returns`);
      const lines = errorLines(r);
      t.equal(lines.length, 1, `${command}: exactly one line on stderr: ${JSON.stringify(r.stderr)}`);
      t.match(lines[0] ?? '', c.names, `${command}: the line names ${c.names}`);
      t.same(root.entries(), [], `${command}: no state directory`);
      t.same(leftovers(root.path, id, b.dir), [], `${command}: no cgroup, mount or process left`);
    }
  });
}

t.test('kill with an unknown signal', async (t) => {
  const root = stateRoot(t);
  const b = makeBundle(t, ['sleep', '1000']);
  const c = root.create(b);
  t.equal(c.code, 0, describe(c));
  for (const sig of ['SIGNOPE', 'NOPE', '65']) {
    const r = root.runt(['kill', c.id, sig]);
    t.not(r.code, 0, `kill ${sig} fails`);
    t.equal(errorLines(r).length, 1, `one line: ${JSON.stringify(r.stderr)}`);
    t.match(r.stderr, sig, `the line names ${sig}`);
  }
  t.equal(root.state(c.id)?.status, 'created', 'the container is untouched');
});

t.test('an invalid container id', async (t) => {
  const root = stateRoot(t);
  const b = makeBundle(t, 'true');
  for (const id of ['../escape', 'a/b', '..']) {
    const r = root.runt(['create', '--bundle', b.dir, id], { stdoutFile: join(b.dir, 'out'), stderrFile: join(b.dir, 'err') });
    t.not(r.code, 0, `${id} is refused`);
    t.equal(errorLines(r).length, 1, `one line: ${JSON.stringify(r.stderr)}`);
    t.match(r.stderr, id, 'naming the id');
    rmSync(join(b.dir, 'err'), { force: true });
  }
  t.same(root.entries(), []);
});
