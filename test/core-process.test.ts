// The process: args, env, cwd, user and groups, umask, rlimits, no_new_privs, capabilities,
// oom_score_adj, each checked where the kernel shows it.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { capMask, describe, errorLines, leftovers, makeBundle, parseStatus, stateRoot, statusNumbers } from './helpers/index.js';
import type { Spec } from '../src/spec/types.js';

const STATUS_MARK = '--- status';
/** Runs `script`, then prints /proc/self/status of a child of the shell (same credentials). */
const withStatus = (script: string) => `${script}; echo '${STATUS_MARK}'; cat /proc/self/status`;
function split(stdout: string) {
  const i = stdout.indexOf(`${STATUS_MARK}\n`);
  const before = i < 0 ? stdout : stdout.slice(0, i);
  return { lines: before.trim().split('\n'), status: parseStatus(i < 0 ? '' : stdout.slice(i)) };
}

t.test('args, env and cwd', async (t) => {
  const root = stateRoot(t);
  const b = makeBundle(t, ['sh', '-c', 'echo "$0|$1|$FOO|$(pwd)"; env', 'zero', 'one'], (s) => {
    s.process!.env = ['PATH=/bin:/usr/bin', 'FOO=bar baz', 'EMPTY='];
    s.process!.cwd = '/tmp';
  });
  const r = root.run(b);
  t.equal(r.code, 0, describe(r));
  const [first, ...envLines] = r.stdout.trim().split('\n');
  t.equal(first, 'zero|one|bar baz|/tmp');
  const env = Object.fromEntries(envLines.map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
  t.equal(env.PATH, '/bin:/usr/bin');
  t.equal(env.FOO, 'bar baz');
  t.equal(env.EMPTY, '');
  const expected = new Set(['PATH', 'FOO', 'EMPTY', 'PWD', 'SHLVL', 'OLDPWD', '_', 'HOME']);
  const leaked = Object.keys(process.env).filter((k) => !expected.has(k) && k in env);
  t.same(leaked, [], "no variable of the runtime's environment reaches the container");
});

t.test('a cwd that does not exist yet is created', async (t) => {
  const root = stateRoot(t);
  const r = root.run(
    makeBundle(t, 'pwd', (s) => {
      s.process!.cwd = '/work/dir';
      s.root!.readonly = false;
    }),
  );
  t.equal(r.code, 0, describe(r));
  t.equal(r.stdout, '/work/dir\n');
});

t.test('user: uid, gid, additionalGids', async (t) => {
  const root = stateRoot(t);
  const b = makeBundle(t, withStatus('id -u; id -g; id -G'), (s) => {
    s.process!.user = { uid: 1000, gid: 1001, additionalGids: [10, 20, 1001] };
  });
  const r = root.run(b);
  t.equal(r.code, 0, describe(r));
  const { lines, status } = split(r.stdout);
  t.same(statusNumbers(status.Uid), [1000, 1000, 1000, 1000], 'Uid: real, effective, saved, fs');
  t.same(statusNumbers(status.Gid), [1001, 1001, 1001, 1001], 'Gid: real, effective, saved, fs');
  t.same(
    statusNumbers(status.Groups).sort((a, c) => a - c),
    [10, 20, 1001],
    'Groups',
  );
  t.equal(lines[0], '1000', 'id -u');
  t.equal(lines[1], '1001', 'id -g');
  t.same(new Set(lines[2].split(' ').map(Number)), new Set([1001, 10, 20]), 'id -G');
});

t.test('umask', async (t) => {
  const root = stateRoot(t);
  const r = root.run(
    makeBundle(t, 'umask', (s) => {
      s.process!.user.umask = 0o027;
    }),
  );
  t.equal(r.code, 0, describe(r));
  t.equal(r.stdout.trim(), '0027');
});

t.test('rlimits (hard limits not raised above the current ones)', async (t) => {
  const root = stateRoot(t);
  const hardNofile = Number(/^Max open files\s+\S+\s+(\S+)/m.exec(readFileSync('/proc/self/limits', 'utf8'))![1]);
  const hard = Math.min(hardNofile, 4096);
  const soft = Math.min(256, hard);
  const r = root.run(
    makeBundle(t, 'ulimit -n; ulimit -Hn; ulimit -c; ulimit -Hc', (s) => {
      s.process!.rlimits = [
        { type: 'RLIMIT_NOFILE', soft, hard },
        { type: 'RLIMIT_CORE', soft: 0, hard: 0 },
      ];
    }),
  );
  t.equal(r.code, 0, describe(r));
  t.same(r.stdout.trim().split('\n'), [String(soft), String(hard), '0', '0']);
});

t.test('noNewPrivileges', async (t) => {
  const root = stateRoot(t);
  for (const nnp of [true, false]) {
    const r = root.run(
      makeBundle(t, 'grep NoNewPrivs /proc/self/status', (s) => {
        s.process!.noNewPrivileges = nnp;
      }),
    );
    t.equal(r.code, 0, describe(r));
    t.match(r.stdout, new RegExp(`^NoNewPrivs:\\s+${nnp ? 1 : 0}$`, 'm'), `noNewPrivileges: ${nnp}`);
  }
});

type Caps = NonNullable<NonNullable<Spec['process']>['capabilities']>;

/** What /proc/PID/status shows after execve of a file without file capabilities (capabilities(7)):
 *  the ambient set only keeps what is also permitted and inheritable; uid 0 gets the bounding and
 *  inheritable sets as permitted (limited to the old permitted set under no_new_privs), others get
 *  the ambient set; the effective set equals the new permitted set. */
function expectedCaps(caps: Caps, uid: number, nnp: boolean) {
  const set = (names?: string[]) => new Set(names ?? []);
  const [bnd, inh, prm] = [set(caps.bounding), set(caps.inheritable), set(caps.permitted)];
  const amb = new Set([...set(caps.ambient)].filter((c) => prm.has(c) && inh.has(c)));
  let newPrm: Set<string>;
  if (uid === 0) {
    newPrm = new Set([...bnd, ...inh]);
    if (nnp) newPrm = new Set([...newPrm].filter((c) => prm.has(c)));
    for (const c of amb) newPrm.add(c);
  } else {
    newPrm = amb;
  }
  return {
    CapInh: capMask(inh),
    CapPrm: capMask(newPrm),
    CapEff: capMask(newPrm),
    CapBnd: capMask(bnd),
    CapAmb: capMask(amb),
  };
}

t.test('capabilities', async (t) => {
  const root = stateRoot(t);
  const defaults = ['CAP_AUDIT_WRITE', 'CAP_KILL', 'CAP_NET_BIND_SERVICE'];
  const withAdmin = [...defaults, 'CAP_SYS_ADMIN'];
  const cases: Array<[string, Caps, number]> = [
    [
      'the default set (ambient without inheritable: not raised)',
      { bounding: defaults, effective: defaults, permitted: defaults, ambient: defaults },
      0,
    ],
    ['with CAP_SYS_ADMIN', { bounding: withAdmin, effective: withAdmin, permitted: withAdmin, inheritable: ['CAP_KILL'] }, 0],
    [
      'a non-root user with ambient capabilities',
      {
        bounding: withAdmin,
        effective: ['CAP_NET_BIND_SERVICE', 'CAP_SYS_ADMIN'],
        permitted: ['CAP_NET_BIND_SERVICE', 'CAP_SYS_ADMIN'],
        inheritable: ['CAP_NET_BIND_SERVICE', 'CAP_SYS_ADMIN'],
        ambient: ['CAP_NET_BIND_SERVICE', 'CAP_SYS_ADMIN'],
      },
      1000,
    ],
    ['no capabilities at all', {}, 0],
  ];
  for (const [name, caps, uid] of cases) {
    const r = root.run(
      makeBundle(t, 'cat /proc/self/status', (s) => {
        s.process!.capabilities = caps;
        s.process!.user = { uid, gid: uid };
      }),
    );
    t.equal(r.code, 0, `${name}: ${describe(r)}`);
    const status = parseStatus(r.stdout);
    const shown = { CapInh: status.CapInh, CapPrm: status.CapPrm, CapEff: status.CapEff, CapBnd: status.CapBnd, CapAmb: status.CapAmb };
    t.same(shown, expectedCaps(caps, uid, true), name);
  }
});

t.test('oomScoreAdj', async (t) => {
  const root = stateRoot(t);
  const r = root.run(
    makeBundle(t, 'cat /proc/self/oom_score_adj', (s) => {
      s.process!.oomScoreAdj = 123;
    }),
  );
  t.equal(r.code, 0, describe(r));
  t.equal(r.stdout.trim(), '123');
});

/** runt under `capsh --drop=cap_sys_resource`: root without CAP_SYS_RESOURCE in any set after the exec. */
const WITHOUT_SYS_RESOURCE = ['capsh', '--drop=cap_sys_resource', '--', '-c', 'exec "$0" "$@"'];

/** What runt inherits from this process (and names in the error). */
const ownOomScoreAdj = () => readFileSync('/proc/self/oom_score_adj', 'utf8').trim();

/** Why the refusal cannot be shown here, or undefined when it can. */
function oomRefusalUnavailable(): string | undefined {
  if (spawnSync('sh', ['-c', 'command -v capsh']).status !== 0) return 'capsh is missing (apt-get install libcap2-bin)';
  const probe = spawnSync(WITHOUT_SYS_RESOURCE[0], [...WITHOUT_SYS_RESOURCE.slice(1, 4), 'echo -1000 > /proc/self/oom_score_adj'], {
    stdio: 'ignore',
  });
  if (probe.status === 0) return 'this host lets a process without CAP_SYS_RESOURCE lower oom_score_adj to -1000';
  return undefined;
}

t.test(
  'oomScoreAdj below what runt may set without CAP_SYS_RESOURCE: one line naming the field',
  { skip: oomRefusalUnavailable() ?? false },
  async (t) => {
    const root = stateRoot(t);
    const b = makeBundle(t, 'true', (s) => {
      s.process!.oomScoreAdj = -1000;
    });
    for (const command of ['create', 'run']) {
      const id = root.id(`oom-${command}`);
      const r = root.runt([command, '--bundle', b.dir, id], {
        wrapper: WITHOUT_SYS_RESOURCE,
        stdoutFile: join(b.dir, `${id}.stdout`),
        stderrFile: join(b.dir, `${id}.stderr`),
      });
      t.not(r.code, 0, `${command} fails: ${describe(r)}`);
      t.same(
        errorLines(r),
        [
          `process.oomScoreAdj: -1000 is lower than runt may set without CAP_SYS_RESOURCE (runt's own oom_score_adj is ${ownOomScoreAdj()}): EACCES`,
        ],
        `${command}: one line naming the field`,
      );
      t.same(root.entries(), [], `${command}: no state directory`);
      t.same(leftovers(root.path, id, b.dir), [], `${command}: no cgroup, mount or process left`);
    }

    // exec: the value from the process JSON. (One the container's config gives it cannot be shown
    // here: that container's create would need CAP_SYS_RESOURCE itself.)
    const running = makeBundle(t, ['sleep', '1000']);
    const c = root.create(running);
    t.equal(c.code, 0, describe(c));
    t.equal(root.runt(['start', c.id]).code, 0);
    const processFile = join(running.dir, 'process.json');
    writeFileSync(processFile, JSON.stringify({ ...running.spec.process, args: ['sleep', '999'], oomScoreAdj: -1000 }));
    const r = root.runt(['exec', '--process', processFile, c.id], { wrapper: WITHOUT_SYS_RESOURCE });
    t.not(r.code, 0, `exec fails: ${describe(r)}`);
    t.same(
      errorLines(r),
      [
        `process.oomScoreAdj: -1000 is lower than runt may set without CAP_SYS_RESOURCE (runt's own oom_score_adj is ${ownOomScoreAdj()}): EACCES`,
      ],
      'exec: one line naming the field of the process JSON',
    );
    const ps = root.runt(['ps', '--format', 'json', c.id]);
    t.same(JSON.parse(ps.stdout), [root.state(c.id)?.pid], 'exec left no process in the container: only the init is there');
  },
);
