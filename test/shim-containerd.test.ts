// containerd-shim-runt-v2 under the real containerd: the test starts containerd (Debian's) with its
// own root, state, sockets and config (CRI off) inside a mount namespace a holder process keeps
// (so that a restarted containerd finds the rootfs mounts of the running shims), with the repo's
// shim first on its PATH, and drives it with `ctr --runtime io.containerd.runt.v2` — and, where ctr
// has no command (Update, Wait's status, bad input), with ttrpc straight to the shim's socket.
import t, { type Test } from 'tap';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { REPO, sourceRootfs, waitFor } from './helpers/index.js';
import { removeEngineCgroupsAtTeardown } from './helpers/engine-cgroups.js';
import { buildBusyboxImage } from '../bench/busybox-image.js';
import { containerdConfig } from '../bench/containerd-config.js';
import { removeEmptyTreesPatiently } from '../bench/empty-dirs.js';
import { procState } from './helpers/proc.js';
import { TtrpcClient } from '../src/shim/ttrpc-client.js';
import { encodeFrame, FrameDecoder } from '../src/shim/ttrpc.js';
import { decode, encode } from '../src/shim/proto.js';
import { sharedSocketAddress, socketAddress, socketPath } from '../src/shim/address.js';
import { stateRoot } from '../src/shim/state-root.js';
import { CODE } from '../src/shim/ttrpc-status.js';
import { Runtime } from '../src/runtime.js';
import { holdContainerdLock } from './helpers/containerd-lock.js';

const IMAGE = 'localhost/runt-shim-test-busybox:latest';
const RUNTIME = 'io.containerd.runt.v2';
// ctr's namespace (CONTAINERD_NAMESPACE), this file's own rather than containerd's `default`, which
// a containerd of the host's would use: the cgroups and /run directories named after it are this
// file's to remove.
const NS = 'runt-shim-test';
process.env.CONTAINERD_NAMESPACE = NS;
const TASK = 'containerd.task.v2.Task';

t.setTimeout(300_000);

function which(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
}

if (process.getuid?.() !== 0) {
  t.skip('containerd needs root', () => {});
} else if (!which('containerd') || !which('ctr') || !which('unshare') || !which('nsenter') || !which('script')) {
  t.skip('containerd, ctr, unshare, nsenter or script is missing (apt-get install containerd util-linux bsdutils)', () => {});
} else {
  await main();
}

async function main(): Promise<void> {
  await holdContainerdLock(t);
  const dir = mkdtempSync('/tmp/runt-shim-ctd-');
  chmodSync(dir, 0o755);
  const sock = join(dir, 'containerd.sock');
  const state = join(dir, 'state');
  const bin = join(dir, 'bin');
  mkdirSync(bin);
  // What install.sh links: the native front (csrc/shim_front.cc), which runs bin/containerd-shim-runt-v2.cjs.
  symlinkSync(join(REPO, 'build/Release/containerd-shim-runt-v2'), join(bin, 'containerd-shim-runt-v2'));
  writeFileSync(join(dir, 'config.toml'), containerdConfig({ dir, sock, state }));
  const ids: string[] = [];
  const id = (name: string) => {
    const v = `runt-shim-${process.pid}-${name}`;
    ids.push(v);
    return v;
  };
  // containerd's namespace is the parent of its containers' cgroups (cgroupsPath /NS/ID).
  removeEngineCgroupsAtTeardown(t, [NS]);
  const before = {
    runtRoot: ['/run/containerd/runt', stateRoot(NS)].filter((d) => !existsSync(d)),
    socketDir: ['/run/containerd/s', '/run/containerd'].filter((d) => !existsSync(d)),
  };
  // The shim never needs the CA bundle; without it Node starts in a third of the time.
  // RUNT_SHIM_LOG: the shims' own log, shown when a subtest fails.
  // RUNT_SHIM_IDLE_TIMEOUT: the namespace's shared shim lingers 2 s after its last task, not 60.
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PATH: `${bin}:${process.env.PATH}`,
    RUNT_SHIM_LOG: join(dir, 'shim.log'),
    RUNT_SHIM_IDLE_TIMEOUT: '2',
  };
  delete env.NODE_EXTRA_CA_CERTS;

  // The mount namespace outlives each containerd: a holder sits in it; containerd joins it.
  const holder: ChildProcess = spawn('unshare', ['-m', '--propagation', 'private', 'sleep', '3600'], { stdio: 'ignore' });
  t.teardown(() => {
    holder.kill('SIGKILL');
  }); // also when setup fails before the main teardown exists
  await waitFor("the holder's mount namespace", () => {
    try {
      return readFileSync(`/proc/${holder.pid}/cmdline`, 'utf8').startsWith('sleep');
    } catch {
      return false;
    }
  });
  let daemon: ChildProcess | undefined;
  /** `extraEnv`: for containerd and so for the shims it starts. */
  const startContainerd = async (extraEnv: Record<string, string> = {}) => {
    try {
      unlinkSync(sock);
    } catch {
      /* first start */
    }
    daemon = spawn('nsenter', [`--mount=/proc/${holder.pid}/ns/mnt`, 'containerd', '--config', join(dir, 'config.toml')], {
      stdio: 'ignore',
      env: { ...env, ...extraEnv },
    });
    await waitFor("containerd's socket", () => existsSync(sock), 30_000);
    await waitFor('containerd to answer', () => ctr(['version']).status === 0, 30_000);
  };
  const stopContainerd = async () => {
    const d = daemon;
    if (!d || d.exitCode !== null || d.signalCode !== null) return;
    d.kill('SIGTERM');
    await new Promise((r) => d.once('exit', r));
  };
  const shimPids = () =>
    readdirSync('/proc')
      .filter((p) => /^\d+$/.test(p))
      .map(Number)
      .filter((p) => {
        try {
          const cmd = readFileSync(`/proc/${p}/cmdline`, 'utf8');
          return cmd.includes('containerd-shim-runt-v2') && cmd.includes(`-address\0${sock}`);
        } catch {
          return false;
        }
      });

  t.teardown(async () => {
    for (const pid of shimPids()) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    // What the killed shims leave: the test's containers, force-deleted through the library.
    try {
      const rt = new Runtime({ root: stateRoot(NS) });
      for (const c of ids) await rt.delete(c, { force: true }).catch(() => {});
      await stopContainerd();
    } finally {
      holder.kill('SIGKILL'); // whatever failed above: the namespace's holder never outlives the test
    }
    await new Promise((r) => (holder.exitCode !== null || holder.signalCode !== null ? r(null) : holder.once('exit', r)));
    for (const address of [...[...ids, `runt-test-${process.pid}`].map((c) => socketAddress(sock, NS, c)), sharedSocketAddress(sock, NS)]) {
      try {
        unlinkSync(socketPath(address));
      } catch {
        /* removed by its shim */
      }
    }
    await removeEmptyTreesPatiently([...before.runtRoot, ...before.socketDir]);
    if (!t.passing() && existsSync(join(dir, 'shim.log')))
      t.comment(`shim log:\n${readFileSync(join(dir, 'shim.log'), 'utf8').split('\n').slice(-60).join('\n')}`);
    rmSync(dir, { recursive: true, force: true });
  });

  // ctr keeps each container's fifos in a directory of its own (default /run/containerd/fifo, and
  // left there for a detached task): here, inside the test's directory.
  const fifoDir = join(dir, 'fifo');
  const withFifoDir = (args: string[]) =>
    args[0] === 'run'
      ? ['run', '--fifo-dir', fifoDir, ...args.slice(1)]
      : args[0] === 'task' && args[1] === 'exec'
        ? ['task', 'exec', '--fifo-dir', fifoDir, ...args.slice(2)]
        : args;
  function ctr(args: string[], opts: { input?: string; timeout?: number } = {}) {
    return spawnSync('ctr', ['--address', sock, ...withFifoDir(args)], {
      encoding: 'utf8',
      timeout: opts.timeout ?? 60_000,
      input: opts.input ?? '',
    });
  }
  const bundleOf = (c: string) => join(state, 'io.containerd.runtime.v2.task', NS, c);
  const shimClient = async (c: string) => TtrpcClient.connect(socketPath(readFileSync(join(bundleOf(c), 'address'), 'utf8')));
  const taskCall = (
    client: TtrpcClient,
    method: string,
    req: Record<string, unknown>,
    reqType = `${method}Request`,
    resType = `${method}Response`,
  ) => client.call(TASK, method, `containerd.task.v2.${reqType}`, req, resType.includes('.') ? resType : `containerd.task.v2.${resType}`);
  const taskPid = (c: string) => Number(new RegExp(`^${c}\\s+(\\d+)`, 'm').exec(ctr(['task', 'ls']).stdout)?.[1] ?? 0);
  const taskStatus = (c: string) => new RegExp(`^${c}\\s+\\d+\\s+(\\w+)`, 'm').exec(ctr(['task', 'ls']).stdout)?.[1];
  const cgroupOf = (pid: number, controller: string) => {
    const line = readFileSync(`/proc/${pid}/cgroup`, 'utf8')
      .split('\n')
      .find((l) => l.split(':')[1]?.split(',').includes(controller));
    return join('/sys/fs/cgroup', controller, line!.split(':')[2]);
  };
  const remove = (c: string) => {
    ctr(['task', 'kill', '-s', 'SIGKILL', c]);
    ctr(['task', 'delete', c]);
    ctr(['container', 'delete', c]);
  };

  await startContainerd();
  const imported = ctr(['images', 'import', buildBusyboxImage(dir, IMAGE, sourceRootfs())]);
  t.equal(imported.status, 0, `image imported: ${imported.stderr}`);

  const noShimLeft = async (t: Test, what = 'the lingering shim to exit') => {
    await waitFor(what, () => shimPids().length === 0, 30_000).catch(() => {});
    t.same(shimPids(), [], 'no shim runs');
  };
  const shimLog = () => (existsSync(join(dir, 'shim.log')) ? readFileSync(join(dir, 'shim.log'), 'utf8') : '');
  const shimPidOf = async (c: string) => {
    const client = await shimClient(c);
    try {
      return Number((await taskCall(client, 'Connect', { id: c })).shim_pid);
    } finally {
      client.close();
    }
  };

  await t.test('ctr run: output, exit code, stdin; the shim exits after its last task and the idle period', async (t) => {
    const r = ctr([
      'run',
      '--rm',
      '--runtime',
      RUNTIME,
      IMAGE,
      id('run'),
      'sh',
      '-c',
      'echo hello from the shim; echo to stderr >&2; exit 3',
    ]);
    t.equal(r.stdout, 'hello from the shim\n', r.stderr);
    t.match(r.stderr, /to stderr/);
    t.equal(r.status, 3, "the container's exit code");
    const cat = ctr(['run', '--rm', '--runtime', RUNTIME, IMAGE, id('stdin'), 'sh', '-c', 'cat; echo done'], {
      input: 'line one\nline two\n',
    });
    t.equal(cat.stdout, 'line one\nline two\ndone\n', `stdin reached the container and was closed: ${cat.stderr}`);
    await waitFor('the shims to exit', () => shimPids().length === 0, 30_000);
    t.same(shimPids(), [], 'no shim is left once its container is deleted and the idle period is over');
  });

  await t.test("a namespace's containers that name no group share one shim, which lingers for the next", async (t) => {
    // A longer idle period than the file's, so that the shim is surely still there for the next
    // container (the restart costs a second; the wait for the shim's exit, these 8).
    await stopContainerd();
    await startContainerd({ RUNT_SHIM_IDLE_TIMEOUT: '8' });
    t.teardown(async () => {
      await stopContainerd();
      await startContainerd();
    });
    await noShimLeft(t, 'no shim before');
    const [a, b, c] = [id('share-a'), id('share-b'), id('share-c')];
    t.teardown(() => [a, b].forEach(remove));
    for (const x of [a, b]) t.equal(ctr(['run', '-d', '--runtime', RUNTIME, IMAGE, x, 'sleep', '1000']).status, 0);
    const address = readFileSync(join(bundleOf(a), 'address'), 'utf8');
    t.equal(address, sharedSocketAddress(sock, NS), "the namespace's shared address");
    t.equal(readFileSync(join(bundleOf(b), 'address'), 'utf8'), address, 'for both');
    const shim = await shimPidOf(a);
    t.equal(await shimPidOf(b), shim, 'one shim serves both');
    t.same(shimPids(), [shim], 'and no other runs');
    t.match(shimLog(), `start ${b}: claimed by the shim at ${address}, no Node started`, "the second start was the front's alone");
    remove(a);
    remove(b);
    t.same(shimPids(), [shim], 'after its last task is deleted the shim is still there');
    t.ok(existsSync(socketPath(address)), 'listening');
    const r = ctr(['run', '--rm', '--runtime', RUNTIME, IMAGE, c, 'sh', '-c', 'echo served; exit 6']);
    t.equal(r.stdout, 'served\n', r.stderr);
    t.equal(r.status, 6, 'the next container runs, with its exit code');
    t.match(shimLog(), `start ${c}: claimed by the shim at ${address}, no Node started`, 'served by the lingering shim, no Node started');
    t.same(shimPids(), [shim], 'the same shim');
    await waitFor('the idle shim to exit', () => !shimPids().includes(shim), 30_000).catch(() => {});
    t.notOk(shimPids().includes(shim), 'it exits after the idle period');
    t.notOk(existsSync(socketPath(address)), 'and removes its socket');
  });

  await t.test('RUNT_SHIM_SHARE=0: a shim per container, gone with it', async (t) => {
    await stopContainerd();
    await startContainerd({ RUNT_SHIM_SHARE: '0', RUNT_SHIM_IDLE_TIMEOUT: '60' });
    t.teardown(async () => {
      await stopContainerd();
      await startContainerd();
    });
    await noShimLeft(t, 'no shim before');
    const [a, b] = [id('own-a'), id('own-b')];
    t.teardown(() => [a, b].forEach(remove));
    for (const x of [a, b]) t.equal(ctr(['run', '-d', '--runtime', RUNTIME, IMAGE, x, 'sleep', '1000']).status, 0);
    const [sa, sb] = [await shimPidOf(a), await shimPidOf(b)];
    t.not(sa, sb, 'two shims');
    t.equal(readFileSync(join(bundleOf(a), 'address'), 'utf8'), socketAddress(sock, NS, a), "each at its container's own address");
    const socketA = socketPath(socketAddress(sock, NS, a));
    remove(a);
    await waitFor("the first container's shim to exit", () => !shimPids().includes(sa), 30_000).catch(() => {});
    t.notOk(shimPids().includes(sa), 'exits with its container (not after the 60 s idle period)');
    t.notOk(existsSync(socketA), 'its socket removed');
    t.ok(shimPids().includes(sb), "the other's shim stays");
    remove(b);
    await waitFor("the second container's shim to exit", () => !shimPids().includes(sb), 30_000).catch(() => {});
    t.notOk(shimPids().includes(sb), 'and exits with it');
  });

  await t.test("without the native front (the npm package's bin): the .cjs's start spawns the shim", async (t) => {
    await noShimLeft(t);
    const link = join(bin, 'containerd-shim-runt-v2');
    unlinkSync(link);
    symlinkSync(join(REPO, 'bin/containerd-shim-runt-v2.cjs'), link);
    try {
      const r = ctr(['run', '--rm', '--runtime', RUNTIME, IMAGE, id('cjs'), 'sh', '-c', 'echo through the cjs; exit 4']);
      t.equal(r.stdout, 'through the cjs\n', r.stderr);
      t.equal(r.status, 4, "the container's exit code");
      await waitFor('the shim to exit', () => shimPids().length === 0, 30_000);
      t.same(shimPids(), [], 'and its shim exited');
    } finally {
      unlinkSync(link);
      symlinkSync(join(REPO, 'build/Release/containerd-shim-runt-v2'), link);
    }
  });

  await t.test('--log-uri binary://: the logger gets stdout and stderr on fds 3 and 4, its ready fd 5, and the id', async (t) => {
    const logDir = join(dir, 'logger');
    mkdirSync(logDir);
    const logger = join(logDir, 'logger.sh');
    // Copies fds 3 and 4 into files, records its arguments and environment, and says it is ready
    // by closing fd 5, as containerd's protocol has it. It ignores the SIGTERM that comes right
    // after its pipes are closed (containerd's shims send it too) and ends at their end of file:
    // a logger that died of it in `wait` would never write "done".
    writeFileSync(
      logger,
      [
        '#!/bin/sh',
        "trap '' TERM",
        'dir=$(dirname "$0")',
        'echo "$CONTAINER_ID $CONTAINER_NAMESPACE $*" > "$dir/env"',
        'cat <&3 > "$dir/out" 4<&- 5>&- &',
        'cat <&4 > "$dir/err" 3<&- 5>&- &',
        'exec 3<&- 4<&- 5>&-',
        'wait',
        'touch "$dir/done"',
        '',
      ].join('\n'),
      { mode: 0o755 },
    );
    const c = id('logbin');
    const r = ctr([
      'run',
      '--rm',
      '--runtime',
      RUNTIME,
      '--log-uri',
      `binary://${logger}?mode=x&flag`,
      IMAGE,
      c,
      'sh',
      '-c',
      'echo to out; echo to err >&2; exit 5',
    ]);
    t.equal(r.status, 5, `the container's exit code: ${r.stderr}`);
    t.equal(r.stdout, '', 'nothing on the client: it went to the logger');
    await waitFor('the logger to finish', () => existsSync(join(logDir, 'done')), 30_000);
    t.equal(readFileSync(join(logDir, 'out'), 'utf8'), 'to out\n', 'stdout through fd 3');
    t.equal(readFileSync(join(logDir, 'err'), 'utf8'), 'to err\n', 'stderr through fd 4');
    t.equal(
      readFileSync(join(logDir, 'env'), 'utf8'),
      `${c} ${NS} mode x flag \n`,
      'CONTAINER_ID, CONTAINER_NAMESPACE, the query as arguments',
    );
    const missing = ctr([
      'run',
      '--rm',
      '--runtime',
      RUNTIME,
      '--log-uri',
      `binary://${join(logDir, 'nosuch')}`,
      IMAGE,
      id('logmissing'),
      'true',
    ]);
    t.not(missing.status, 0, 'a logger that does not exist fails the run');
    t.match(missing.stderr, /nosuch/, 'naming it');
    ctr(['container', 'delete', id('logmissing')]);
  });

  await t.test("ctr run -t: a terminal, resized to the client's size", async (t) => {
    const c = id('tty');
    const r = spawnSync(
      'script',
      [
        '-qec',
        `stty cols 91 rows 37; ctr --address ${sock} run --fifo-dir ${fifoDir} --rm -t --runtime ${RUNTIME} ${IMAGE} ${c} sh -c 'tty; i=0; while [ $i -lt 100 ]; do s=$(stty size 2>/dev/null); case "$s" in ""|"0 0") i=$((i+1)); sleep 0.1;; *) break;; esac; done; echo size=$s'`,
        '/dev/null',
      ],
      { encoding: 'utf8', timeout: 60_000 },
    );
    t.match(r.stdout, /\/dev\/pts\/\d+/, 'the process has a pty');
    t.match(r.stdout, /size=37 91/, "ResizePty gave it the client's window size");
  });

  await t.test('a running task: exec, ps, pause/resume, metrics, update, kill', async (t) => {
    const c = id('long');
    t.teardown(() => remove(c));
    const events = spawn('ctr', ['--address', sock, 'events'], { stdio: ['ignore', 'pipe', 'ignore'] });
    t.teardown(() => {
      events.kill('SIGKILL');
    });
    let seen = '';
    events.stdout!.on('data', (d: Buffer) => {
      seen += d.toString();
    });
    await new Promise((r) => setTimeout(r, 300)); // let ctr subscribe
    const run = ctr(['run', '-d', '--runtime', RUNTIME, IMAGE, c, 'sh', '-c', 'trap "exit 42" TERM; while :; do sleep 0.1; done']);
    t.equal(run.status, 0, run.stderr);
    const pid = taskPid(c);
    t.ok(pid > 0, 'the task has a pid');
    const e1 = ctr(['task', 'exec', '--exec-id', 'e1', c, 'sh', '-c', 'echo pid=$$ user=$(id -u); exit 9']);
    t.equal(e1.stdout, 'pid=' + e1.stdout.slice(4, e1.stdout.indexOf(' ')) + ' user=0\n', e1.stderr);
    t.notMatch(e1.stdout, /pid=1 /, 'exec runs beside the init in its PID namespace');
    t.equal(e1.status, 9, 'exec exit code');
    const e2 = ctr([
      'task',
      'exec',
      '--exec-id',
      'e2',
      '--user',
      '1000:1000',
      '--cwd',
      '/tmp',
      c,
      'sh',
      '-c',
      'echo $(id -u):$(id -g) $PWD $PATH',
    ]);
    t.match(e2.stdout, /^1000:1000 \/tmp \/usr\/local\/sbin:/, `exec --user and --cwd; the image's env: ${e2.stderr}`);
    // ctr sends CloseIO as soon as it has copied its stdin, often before Start.
    for (const n of [1, 2, 3]) {
      const e3 = ctr(['task', 'exec', '--exec-id', `e3-${n}`, c, 'cat'], { input: `through stdin ${n}\n`, timeout: 30_000 });
      t.equal(e3.stdout, `through stdin ${n}\n`, `exec stdin (${n})`);
    }
    const tty = spawnSync(
      'script',
      ['-qec', `ctr --address ${sock} task exec --fifo-dir ${fifoDir} -t --exec-id e4 ${c} tty`, '/dev/null'],
      { encoding: 'utf8', timeout: 60_000 },
    );
    t.match(tty.stdout, /\/dev\/pts\/\d+/, 'exec -t has a pty');

    const ps = ctr(['task', 'ps', c]);
    t.match(ps.stdout, new RegExp(`^${pid}\\s`, 'm'), 'task ps lists the init');

    const freezer = cgroupOf(pid, 'freezer');
    t.equal(ctr(['task', 'pause', c]).status, 0);
    t.equal(taskStatus(c), 'PAUSED');
    t.equal(readFileSync(join(freezer, 'freezer.state'), 'utf8').trim(), 'FROZEN', 'the freezer cgroup on the host is frozen');
    t.equal(ctr(['task', 'resume', c]).status, 0);
    t.equal(taskStatus(c), 'RUNNING');
    t.equal(readFileSync(join(freezer, 'freezer.state'), 'utf8').trim(), 'THAWED');

    const metrics = ctr(['task', 'metrics', c]);
    t.equal(metrics.status, 0, metrics.stderr);
    t.match(metrics.stdout, /memory\.usage_in_bytes\s+[1-9]\d*/, "metrics: the memory cgroup's usage (cgroups v1 Metrics)");
    t.match(metrics.stdout, /pids\.current\s+[1-9]/, 'metrics: pids');

    const client = await shimClient(c);
    t.teardown(() => client.close());
    await taskCall(
      client,
      'Update',
      {
        id: c,
        resources: {
          type_url: 'types.containerd.io/opencontainers/runtime-spec/1/LinuxResources',
          value: Buffer.from(JSON.stringify({ memory: { limit: 64 << 20 } })),
        },
      },
      'UpdateTaskRequest',
      'google.protobuf.Empty',
    );
    t.equal(
      readFileSync(join(cgroupOf(pid, 'memory'), 'memory.limit_in_bytes'), 'utf8').trim(),
      String(64 << 20),
      'Update wrote the memory limit',
    );
    await taskCall(client, 'Checkpoint', { id: c }, 'CheckpointTaskRequest', 'google.protobuf.Empty').then(
      () => t.fail('Checkpoint answered'),
      (e) => t.equal(e.code, CODE.UNIMPLEMENTED, 'Checkpoint: NotImplemented'),
    );

    const waiting = taskCall(client, 'Wait', { id: c });
    t.equal(ctr(['task', 'kill', '-s', 'SIGTERM', c]).status, 0);
    t.equal((await waiting).exit_status, 42, "SIGTERM reached the init's trap; Wait reports its exit");
    t.equal(taskStatus(c), 'STOPPED');
    const topics = [
      '/tasks/create',
      '/tasks/start',
      '/tasks/exec-added',
      '/tasks/exec-started',
      '/tasks/paused',
      '/tasks/resumed',
      '/tasks/exit',
    ];
    await waitFor("the task's events", () => topics.every((topic) => new RegExp(`${topic}\\s+.*${c}`).test(seen)), 10_000).catch(() => {});
    for (const topic of topics) t.match(seen, new RegExp(`${topic}\\s+.*${c}`), `ctr events: ${topic}`);
  });

  await t.test('kill -s SIGKILL, kill --all', async (t) => {
    const c = id('kill');
    t.teardown(() => remove(c));
    t.equal(ctr(['run', '-d', '--runtime', RUNTIME, IMAGE, c, 'sleep', '1000']).status, 0);
    const bg = ctr(['task', 'exec', '-d', '--exec-id', 'bg', c, 'sleep', '999']);
    t.equal(bg.status, 0, bg.stderr);
    const client = await shimClient(c);
    t.teardown(() => client.close());
    const waiting = taskCall(client, 'Wait', { id: c });
    t.equal(ctr(['task', 'kill', '--all', '-s', 'SIGKILL', c]).status, 0);
    t.equal((await waiting).exit_status, 137, 'killed by SIGKILL: 128 + 9');
    const exec = await taskCall(client, 'Wait', { id: c, exec_id: 'bg' });
    t.equal(exec.exit_status, 137, '--all killed the exec too');
  });

  await t.test('an OOM-killed container: TaskOOM is published', async (t) => {
    const c = id('oom');
    t.teardown(() => remove(c));
    const events = spawn('ctr', ['--address', sock, 'events'], { stdio: ['ignore', 'pipe', 'ignore'] });
    t.teardown(() => {
      events.kill('SIGKILL');
    });
    let seen = '';
    events.stdout!.on('data', (d: Buffer) => {
      seen += d.toString();
    });
    await new Promise((r) => setTimeout(r, 300)); // let ctr subscribe (its output is all that is read)
    const r = ctr([
      'run',
      '--rm',
      '--runtime',
      RUNTIME,
      '--memory-limit',
      String(16 << 20),
      IMAGE,
      c,
      'sh',
      '-c',
      'a=xxxxxxxxxxxxxxxx; while :; do a=$a$a; done',
    ]);
    t.equal(r.status, 137, `the container was killed: ${r.stderr}`);
    await waitFor('the /tasks/oom event', () => seen.includes('/tasks/oom'), 20_000).catch(() => {});
    t.match(seen, new RegExp(`/tasks/oom\\s+.*${c}`), 'ctr events saw TaskOOM for the container');
    const order = ['/tasks/create', '/tasks/start', '/tasks/exit', '/tasks/delete'].map((topic) =>
      seen.search(new RegExp(`${topic}\\s+.*${c}`)),
    );
    t.ok(
      order.every((i, n) => i >= 0 && (n === 0 || i > order[n - 1])),
      `create, start, exit, delete in that order: ${order}`,
    );
  });

  await t.test('the same image twice at once, no shim running: the two starts make one shim', async (t) => {
    await noShimLeft(t);
    const run = (c: string) =>
      new Promise<{ code: number | null; out: string }>((resolve) => {
        const p = spawn('ctr', [
          '--address',
          sock,
          'run',
          '--fifo-dir',
          fifoDir,
          '--rm',
          '--runtime',
          RUNTIME,
          IMAGE,
          c,
          'sh',
          '-c',
          'echo $HOSTNAME-ok',
        ]);
        let out = '';
        p.stdout!.on('data', (d: Buffer) => {
          out += d.toString();
        });
        p.on('exit', (code) => resolve({ code, out }));
      });
    const twins = [id('twin-a'), id('twin-b')];
    const [a, b] = await Promise.all(twins.map(run));
    t.same([a.code, b.code], [0, 0]);
    t.match(a.out, /-ok\n$/);
    t.match(b.out, /-ok\n$/);
    // The shims' log (RUNT_SHIM_LOG): "runt-shim ID: serving" from each Node that became a shim.
    const serving = twins.filter((c) => shimLog().includes(`runt-shim ${c}: serving`));
    t.equal(serving.length, 1, `one Node became the shim and served both: ${serving}`);
  });

  await t.test("a group (a pod's containers): one shim serves them all and exits after the last", async (t) => {
    const [a, b] = [id('group-a'), id('group-b')];
    const group = `runt-test-${process.pid}`;
    t.teardown(() => {
      remove(a);
      remove(b);
    });
    for (const c of [a, b])
      t.equal(
        ctr(['run', '-d', '--runtime', RUNTIME, '--annotation', `io.containerd.runt.v2.group=${group}`, IMAGE, c, 'sleep', '1000']).status,
        0,
      );
    const address = (c: string) => readFileSync(join(bundleOf(c), 'address'), 'utf8');
    t.equal(address(a), address(b), 'both bundles name one shim address');
    const groupSocket = socketPath(address(a));
    const client = await shimClient(a);
    const pids = await Promise.all([a, b].map(async (c) => Number((await taskCall(client, 'Connect', { id: c })).task_pid)));
    t.same(pids, [taskPid(a), taskPid(b)], 'that shim serves both tasks');
    const shimPid = Number((await taskCall(client, 'Connect', { id: a })).shim_pid);
    client.close();
    remove(a);
    t.ok(shimPids().includes(shimPid), 'the shim stays while the second container lives');
    t.equal(taskStatus(b), 'RUNNING');
    remove(b);
    await waitFor("the group's shim to exit", () => !shimPids().includes(shimPid), 30_000).catch(() => {});
    t.notOk(shimPids().includes(shimPid), 'and exits after its last task is deleted');
    await waitFor("the group's socket to go", () => !existsSync(groupSocket), 10_000).catch(() => {});
    t.notOk(existsSync(groupSocket), 'and removes its socket');
  });

  await t.test('containerd restarted while a container runs: the task is still there and its exit is reported', async (t) => {
    const c = id('restart');
    t.teardown(() => remove(c));
    t.equal(ctr(['run', '-d', '--runtime', RUNTIME, IMAGE, c, 'sh', '-c', 'while [ ! -e /go ]; do sleep 0.1; done; exit 7']).status, 0);
    const pid = taskPid(c);
    await stopContainerd();
    await startContainerd();
    t.equal(taskStatus(c), 'RUNNING', 'the task survived the restart');
    t.equal(taskPid(c), pid);
    const events = spawn('ctr', ['--address', sock, 'events'], { stdio: ['ignore', 'pipe', 'ignore'] });
    t.teardown(() => {
      events.kill('SIGKILL');
    });
    let seen = '';
    events.stdout!.on('data', (d: Buffer) => {
      seen += d.toString();
    });
    await new Promise((r) => setTimeout(r, 300));
    t.equal(ctr(['task', 'exec', '--exec-id', 'go', c, 'touch', '/go']).status, 0, 'exec through the new containerd');
    await waitFor('the task to stop', () => taskStatus(c) === 'STOPPED', 30_000);
    await waitFor(
      'the exit event',
      () => new RegExp(`/tasks/exit\\s+.*${c}.*"?id"?:"?${c}`).test(seen) || seen.includes(`"exit_status":7`) || /exit_status:7/.test(seen),
      20_000,
    ).catch(() => {});
    t.match(seen, new RegExp(`/tasks/exit\\s+.*${c}`), 'the new containerd got TaskExit');
    const client = await shimClient(c);
    t.teardown(() => client.close());
    t.equal((await taskCall(client, 'State', { id: c })).exit_status, 7, 'and the exit status');
  });

  await t.test("the shared shim killed with SIGKILL: containerd's delete path cleans up each of its containers", async (t) => {
    const cs = [id('crash-a'), id('crash-b')];
    for (const c of cs) t.equal(ctr(['run', '-d', '--runtime', RUNTIME, IMAGE, c, 'sleep', '1000']).status, 0);
    const pids = cs.map(taskPid);
    const memory = pids.map((pid) => cgroupOf(pid, 'memory'));
    const shimPid = await shimPidOf(cs[0]);
    t.equal(await shimPidOf(cs[1]), shimPid, 'one shim serves both');
    t.ok(shimPids().includes(shimPid), 'Connect names the shim');
    process.kill(shimPid, 'SIGKILL');
    cs.forEach((c, i) => {
      t.test(c, async (t) => {
        await waitFor('the container to be cleaned up', () => !existsSync(join(stateRoot(NS), c)), 30_000).catch(() => {});
        t.notOk(existsSync(join(stateRoot(NS), c)), "runt's state of the container is gone");
        await waitFor('the init to be gone', () => [null, 'Z'].includes(procState(pids[i])), 10_000).catch(() => {});
        t.ok([null, 'Z'].includes(procState(pids[i])), "the container's init is dead");
        t.notOk(existsSync(memory[i]), 'its memory cgroup is removed');
        const mounted = () => readFileSync(`/proc/${holder.pid}/mountinfo`, 'utf8').includes(join(bundleOf(c), 'rootfs'));
        await waitFor('the rootfs to be unmounted', () => !mounted(), 10_000).catch(() => {});
        t.notOk(mounted(), 'its rootfs is unmounted');
        ctr(['container', 'delete', c]);
      });
    });
  });

  await t.test('after the shared shim died: the next container gets a new one', async (t) => {
    const c = id('after-crash');
    const r = ctr(['run', '--rm', '--runtime', RUNTIME, IMAGE, c, 'echo', 'again']);
    t.equal(r.stdout, 'again\n', r.stderr);
    t.equal(r.status, 0);
  });

  await t.test('bad input to the shim: an error status, and the shim goes on serving', async (t) => {
    const c = id('bad');
    t.teardown(() => remove(c));
    t.equal(ctr(['run', '-d', '--runtime', RUNTIME, IMAGE, c, 'sleep', '1000']).status, 0);
    const client = await shimClient(c);
    t.teardown(() => client.close());
    const status = (p: Promise<unknown>) =>
      p.then(
        () => 0,
        (e: { code: number; message: string }) => e,
      );
    t.match(
      await status(taskCall(client, 'Nope', { id: c }, 'StateRequest', 'StateResponse')),
      { code: CODE.UNIMPLEMENTED },
      'an unknown method',
    );
    t.match(
      await status(taskCall(client, 'Create', { id: c, bundle: bundleOf(c) }, 'CreateTaskRequest', 'CreateTaskResponse')),
      { code: CODE.ALREADY_EXISTS, message: /already exists/ },
      'Create for an id that exists',
    );
    const empty = join(dir, 'no-rootfs');
    mkdirSync(empty, { recursive: true });
    writeFileSync(join(empty, 'config.json'), readFileSync(join(bundleOf(c), 'config.json')));
    t.match(
      await status(taskCall(client, 'Create', { id: `${c}-x`, bundle: empty }, 'CreateTaskRequest', 'CreateTaskResponse')),
      { code: CODE.INVALID_ARGUMENT, message: /root/ },
      'a bundle without a rootfs',
    );
    t.match(await status(taskCall(client, 'State', { id: 'no-such-task' })), { code: CODE.NOT_FOUND }, 'an unknown task');
    // Raw frames: a Request that is not protobuf, a payload that is not the method's message.
    const raw = (await import('node:net')).connect(socketPath(readFileSync(join(bundleOf(c), 'address'), 'utf8')));
    t.teardown(() => raw.destroy());
    const answers = new Map<number, { code: number; message: string } | null>();
    const d = new FrameDecoder();
    raw.on('data', (b: Buffer) => {
      for (const f of d.push(b))
        answers.set(f.streamId, decode<{ status: { code: number; message: string } | null }>('ttrpc.Response', f.data).status);
    });
    raw.write(encodeFrame({ streamId: 1, type: 1, flags: 0, data: Buffer.from([0x0a, 0xff]) }));
    raw.write(
      encodeFrame({
        streamId: 3,
        type: 1,
        flags: 0,
        data: encode('ttrpc.Request', { service: TASK, method: 'State', payload: Buffer.from([0x0a, 0x7f, 0x41]) }),
      }),
    );
    await waitFor('two answers', () => answers.size === 2, 10_000).catch(() => {});
    t.match(answers.get(1), { code: CODE.INVALID_ARGUMENT }, 'a malformed ttrpc Request');
    t.match(answers.get(3), { code: CODE.INVALID_ARGUMENT }, 'a malformed protobuf payload');
    // The client goes away (containerd stopped) while a call is in flight: nothing else changes.
    const gone = await shimClient(c);
    const inFlight = taskCall(gone, 'Wait', { id: c });
    gone.close();
    await inFlight.then(
      () => t.fail('Wait answered'),
      () => t.pass('the in-flight call ends with its connection'),
    );
    const st = await taskCall(client, 'State', { id: c });
    t.equal(st.status, 2, 'the shim still serves its running task');
    t.equal(taskStatus(c), 'RUNNING');
  });
}
