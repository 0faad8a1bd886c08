// runtime-spec 1.3 process attributes, each read back from inside a real container: scheduler
// (/proc/self/sched), ioPriority (ionice), execCPUAffinity (Cpus_allowed_list of an exec'd
// process), personality (/proc/self/personality, uname -m), memoryPolicy (/proc/self/numa_maps).
// The reader is the container's process itself (args without a shell), so nothing is lost to a fork.
import t from 'tap';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { describe, errorLines, makeBundle, parseStatus, stateRoot } from './helpers/index.js';
import type { Spec } from '../src/spec/types.js';

function schedField(text: string, name: string): number | undefined {
  const m = new RegExp(`^${name}\\s*:\\s*(-?\\d+)`, 'm').exec(text);
  return m ? Number(m[1]) : undefined;
}

t.test('process.scheduler: SCHED_BATCH with a nice value, kept across exec', async (t) => {
  const root = stateRoot(t);
  const r = root.run(
    makeBundle(t, ['cat', '/proc/self/sched'], (s) => {
      s.process!.scheduler = { policy: 'SCHED_BATCH', nice: 7, flags: ['SCHED_FLAG_RESET_ON_FORK'] };
    }),
  );
  t.equal(r.code, 0, describe(r));
  t.equal(schedField(r.stdout, 'policy'), 3, 'policy 3 (SCHED_BATCH)');
  t.equal(schedField(r.stdout, 'prio'), 127, 'prio 120 + nice 7');
});

t.test('process.scheduler: SCHED_IDLE', async (t) => {
  const root = stateRoot(t);
  const r = root.run(
    makeBundle(t, ['cat', '/proc/self/sched'], (s) => {
      s.process!.scheduler = { policy: 'SCHED_IDLE' };
    }),
  );
  t.equal(r.code, 0, describe(r));
  t.equal(schedField(r.stdout, 'policy'), 5, 'policy 5 (SCHED_IDLE)');
});

t.test('process.scheduler: a value the kernel refuses fails create with one line naming the field', async (t) => {
  const root = stateRoot(t);
  const r = root.run(
    makeBundle(t, ['true'], (s) => {
      s.process!.scheduler = { policy: 'SCHED_FIFO', priority: 0 };
    }),
  );
  t.not(r.code, 0);
  t.match(errorLines(r).join('\n'), /process\.scheduler/);
  const iso = root.run(
    makeBundle(t, ['true'], (s) => {
      s.process!.scheduler = { policy: 'SCHED_ISO' };
    }),
  );
  t.not(iso.code, 0);
  t.same(errorLines(iso), ['process.scheduler.policy: SCHED_ISO is not implemented by the Linux kernel']);
});

t.test('process.ioPriority: class and level seen by ionice inside', async (t) => {
  const root = stateRoot(t);
  const r = root.run(
    makeBundle(t, ['ionice', '-p', '1'], (s) => {
      s.process!.ioPriority = { class: 'IOPRIO_CLASS_IDLE', priority: 0 };
    }),
  );
  t.equal(r.code, 0, describe(r));
  t.match(r.stdout.trim(), /^idle\b/, `ionice shows the idle class: ${r.stdout.trim()}`);
  const be = root.run(
    makeBundle(t, ['ionice', '-p', '1'], (s) => {
      s.process!.ioPriority = { class: 'IOPRIO_CLASS_BE', priority: 6 };
    }),
  );
  t.equal(be.code, 0, describe(be));
  t.equal(be.stdout.trim(), 'best-effort: prio 6');
});

t.test('linux.personality: LINUX32 is seen in /proc/self/personality and by uname', async (t) => {
  const root = stateRoot(t);
  const r = root.run(
    makeBundle(t, ['cat', '/proc/self/personality'], (s) => {
      s.linux!.personality = { domain: 'LINUX32' };
    }),
  );
  t.equal(r.code, 0, describe(r));
  t.equal(r.stdout.trim(), '00000008');
  const u = root.run(
    makeBundle(t, ['uname', '-m'], (s) => {
      s.linux!.personality = { domain: 'LINUX32' };
    }),
  );
  t.equal(u.code, 0, describe(u));
  t.match(u.stdout.trim(), /^i[3-6]86$/);
  const bad = root.run(
    makeBundle(t, ['true'], (s) => {
      s.linux!.personality = { domain: 'LINUX', flags: ['ADDR_NO_RANDOMIZE'] };
    }),
  );
  t.not(bad.code, 0);
  t.same(errorLines(bad), ['linux.personality.flags[0]: "ADDR_NO_RANDOMIZE" is not supported (the spec defines no flags)']);
});

t.test('linux.memoryPolicy: the policy shows in numa_maps; nodes that are not online are refused by name', async (t) => {
  if (!existsSync('/proc/self/numa_maps')) {
    t.skip('this kernel has no NUMA support (/proc/self/numa_maps is missing)', () => {});
    return;
  }
  const root = stateRoot(t);
  const policy = (mp: NonNullable<NonNullable<Spec['linux']>['memoryPolicy']>) => {
    const r = root.run(
      makeBundle(t, ['cat', '/proc/self/numa_maps'], (s) => {
        s.linux!.memoryPolicy = mp;
      }),
    );
    t.equal(r.code, 0, describe(r));
    // The first mapping without a policy of its own shows the process's.
    return r.stdout.split('\n')[0]?.split(' ')[1];
  };
  t.equal(policy({ mode: 'MPOL_BIND', nodes: '0' }), 'bind:0');
  t.equal(policy({ mode: 'MPOL_BIND', nodes: '0', flags: ['MPOL_F_STATIC_NODES'] }), 'bind=static:0');
  t.equal(policy({ mode: 'MPOL_PREFERRED', nodes: '0' }), 'prefer:0');
  t.equal(policy({ mode: 'MPOL_INTERLEAVE', nodes: '0' }), 'interleave:0');
  t.equal(policy({ mode: 'MPOL_LOCAL' }), 'local');

  const online = readFileSync('/sys/devices/system/node/online', 'utf8').trim();
  const absent = 63;
  const bad = root.run(
    makeBundle(t, ['true'], (s) => {
      s.linux!.memoryPolicy = { mode: 'MPOL_BIND', nodes: `0,${absent}` };
    }),
  );
  t.not(bad.code, 0);
  t.equal(errorLines(bad).length, 1, 'one line');
  t.match(
    errorLines(bad)[0],
    new RegExp(`^linux\\.memoryPolicy\\.nodes: node ${absent} not online on this host \\(online: `),
    `online here: ${online}`,
  );
  const empty = root.run(
    makeBundle(t, ['true'], (s) => {
      s.linux!.memoryPolicy = { mode: 'MPOL_BIND' };
    }),
  );
  t.same(errorLines(empty), ['linux.memoryPolicy.nodes: MPOL_BIND needs at least one node']);
});

t.test("process.execCPUAffinity applies to exec'd processes: initial alone stays, final wins", async (t) => {
  const ncpu = cpus().length;
  if (ncpu < 2) {
    t.skip('needs 2 CPUs to tell an affinity from the default', () => {});
    return;
  }
  const root = stateRoot(t);
  const bundle = makeBundle(t, ['sleep', '1000'], (s) => {
    s.process!.execCPUAffinity = { initial: '0' };
  });
  const id = root.id('affinity');
  const created = root.runt(['run', '-d', '--bundle', bundle.dir, id], {
    stdoutFile: join(bundle.dir, 'run.stdout'),
    stderrFile: join(bundle.dir, 'run.stderr'),
  });
  t.equal(created.code, 0, describe(created));
  t.match(
    readFileSync(join(bundle.dir, 'run.stderr'), 'utf8'),
    /process\.execCPUAffinity: applies to processes started by exec/,
    'the init is told it does not apply to it',
  );
  const initStatus = parseStatus(readFileSync(`/proc/${root.state(id)!.pid}/status`, 'utf8'));
  t.equal(initStatus.Cpus_allowed_list, `0-${ncpu - 1}`, 'the init keeps every CPU');

  const last = String(ncpu - 1);
  const exec = (affinity: { initial?: string; final?: string }) => {
    const file = join(bundle.dir, `process-${JSON.stringify(affinity).replace(/\W/g, '')}.json`);
    writeFileSync(file, JSON.stringify({ ...bundle.spec.process, args: ['cat', '/proc/self/status'], execCPUAffinity: affinity }));
    const r = root.runt(['exec', '--process', file, id]);
    t.equal(r.code, 0, describe(r));
    return parseStatus(r.stdout).Cpus_allowed_list;
  };
  t.equal(exec({ initial: last }), last, 'without final, the initial affinity stays');
  t.equal(exec({ initial: last, final: '0' }), '0', 'final is applied right before exec');
  t.equal(exec({ final: `0-${last}` }), `0-${last}`);
  const bad = root.runt([
    'exec',
    '--process',
    (() => {
      const f = join(bundle.dir, 'bad.json');
      writeFileSync(f, JSON.stringify({ ...bundle.spec.process, args: ['true'], execCPUAffinity: { final: '0-x' } }));
      return f;
    })(),
    id,
  ]);
  t.not(bad.code, 0);
  t.match(errorLines(bad).join('\n'), /process\.execCPUAffinity\.final/);
});

t.test("memoryPolicy and personality apply to exec'd processes too", async (t) => {
  if (!existsSync('/proc/self/numa_maps')) {
    t.skip('this kernel has no NUMA support (/proc/self/numa_maps is missing)', () => {});
    return;
  }
  const root = stateRoot(t);
  const bundle = makeBundle(t, ['sleep', '1000'], (s) => {
    s.linux!.memoryPolicy = { mode: 'MPOL_BIND', nodes: '0' };
    s.linux!.personality = { domain: 'LINUX32' };
  });
  const id = root.id('attrs');
  const run = root.runt(['run', '-d', '--bundle', bundle.dir, id], {
    stdoutFile: join(bundle.dir, 'o'),
    stderrFile: join(bundle.dir, 'e'),
  });
  t.equal(run.code, 0, describe(run));
  const p = root.runt(['exec', id, 'cat', '/proc/self/personality']);
  t.equal(p.code, 0, describe(p));
  t.equal(p.stdout.trim(), '00000008');
  const m = root.runt(['exec', id, 'cat', '/proc/self/numa_maps']);
  t.equal(m.code, 0, describe(m));
  t.equal(m.stdout.split('\n')[0]?.split(' ')[1], 'bind:0');
});
