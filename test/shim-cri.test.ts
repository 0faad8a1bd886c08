// runt's shim under containerd's CRI plugin, driven the way the kubelet drives it: gRPC
// (@grpc/grpc-js) with the CRI messages (k8s.io/cri-api's api.proto as vendored in containerd
// 1.6.20), a pod whose runtime handler is runt (runtime_type io.containerd.runt.v2). containerd runs
// in a network and mount namespace a holder process keeps: the pod shares that network namespace
// (NamespaceMode NODE), so nothing touches the host's network and no CNI plugin is needed.
import t from 'tap';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmdirSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { isAbsolute, join } from 'node:path';
import protobuf from 'protobufjs';
import * as grpc from '@grpc/grpc-js';
import { REPO, sourceRootfs, waitFor } from './helpers/index.js';
import { removeEngineCgroupsAtTeardown } from './helpers/engine-cgroups.js';
import { buildBusyboxImage } from '../bench/busybox-image.js';
import { socketAddress, socketPath } from '../src/shim/address.js';
import { stateRoot } from '../src/shim/state-root.js';
import { Runtime } from '../src/runtime.js';

const IMAGE = 'localhost/runt-cri-test-busybox:latest';
const PAUSE = 'localhost/runt-cri-test-pause:latest';
const NS = 'k8s.io';

t.setTimeout(240_000);

const has = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
if (process.getuid?.() !== 0) t.skip('containerd needs root', () => {});
else if (!has('containerd') || !has('ctr') || !has('unshare') || !has('nsenter'))
  t.skip('containerd, ctr, unshare or nsenter is missing', () => {});
else await main();

async function main(): Promise<void> {
  const dir = mkdtempSync('/tmp/runt-shim-cri-');
  chmodSync(dir, 0o755);
  const sock = join(dir, 'containerd.sock');
  const bin = join(dir, 'bin');
  mkdirSync(bin);
  mkdirSync(join(dir, 'cni'));
  // What install.sh links: the native front (csrc/shim_front.cc), which runs bin/containerd-shim-runt-v2.cjs.
  symlinkSync(join(REPO, 'build/Release/containerd-shim-runt-v2'), join(bin, 'containerd-shim-runt-v2'));
  writeFileSync(
    join(dir, 'config.toml'),
    [
      'version = 2',
      `root = "${dir}/root"`,
      `state = "${dir}/state"`,
      'disabled_plugins = ["io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.aufs"]',
      `[grpc]\n  address = "${sock}"`,
      `[ttrpc]\n  address = "${sock}.ttrpc"`,
      `[debug]\n  address = "${dir}/debug.sock"`,
      '[plugins."io.containerd.grpc.v1.cri"]',
      `  sandbox_image = "${PAUSE}"`,
      '  disable_apparmor = true',
      // The pause container asks for oom_score_adj -998; lowering it needs CAP_SYS_RESOURCE, which this
      // sandbox lacks (runc fails the same way): CRI's own switch keeps it at containerd's.
      '  restrict_oom_score_adj = true',
      '  stream_server_address = "127.0.0.1"',
      '  [plugins."io.containerd.grpc.v1.cri".cni]',
      `    conf_dir = "${dir}/cni"`,
      '  [plugins."io.containerd.grpc.v1.cri".containerd]',
      '    default_runtime_name = "runt"',
      '  [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runt]',
      '    runtime_type = "io.containerd.runt.v2"',
    ].join('\n'),
  );
  // The cgroups containerd's CRI asks for: the pods' parent `runt` and the namespace `k8s.io`.
  removeEngineCgroupsAtTeardown(t, ['runt', NS]);
  const before = {
    runtRoot: ['/run/containerd/runt', stateRoot(NS)].filter((d) => !existsSync(d)),
    dirs: ['/run/containerd/s', '/run/containerd', '/var/log/pods'].filter((d) => !existsSync(d)),
  };
  const env: NodeJS.ProcessEnv = { ...process.env, PATH: `${bin}:${process.env.PATH}`, RUNT_SHIM_LOG: join(dir, 'shim.log') };
  delete env.NODE_EXTRA_CA_CERTS;

  const holder: ChildProcess = spawn('unshare', ['-m', '-n', '--propagation', 'private', 'sleep', '3600'], { stdio: 'ignore' });
  t.teardown(() => {
    holder.kill('SIGKILL');
  }); // also when setup fails before the main teardown exists
  await waitFor('the holder', () => {
    try {
      return readFileSync(`/proc/${holder.pid}/cmdline`, 'utf8').startsWith('sleep');
    } catch {
      return false;
    }
  });
  spawnSync('nsenter', [`--net=/proc/${holder.pid}/ns/net`, 'ip', 'link', 'set', 'lo', 'up']);
  const daemon = spawn(
    'nsenter',
    [`--mount=/proc/${holder.pid}/ns/mnt`, `--net=/proc/${holder.pid}/ns/net`, 'containerd', '--config', join(dir, 'config.toml')],
    { stdio: ['ignore', 'ignore', 'pipe'], env },
  );
  let daemonLog = '';
  daemon.stderr!.on('data', (d: Buffer) => {
    daemonLog = (daemonLog + d.toString()).slice(-20000);
  });
  const ctr = (args: string[]) => spawnSync('ctr', ['--address', sock, '-n', NS, ...args], { encoding: 'utf8', timeout: 60_000 });
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
  const ids: string[] = [];
  // eslint-disable-next-line prefer-const -- nothing assigns it yet; the teardown closes it if something does
  let client: grpc.Client | undefined;
  t.teardown(async () => {
    try {
      client?.close();
      for (const pid of shimPids()) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          /* gone */
        }
      }
      const rt = new Runtime({ root: stateRoot(NS) });
      for (const c of ids) await rt.delete(c, { force: true }).catch(() => {});
      daemon.kill('SIGTERM');
      await new Promise((r) => (daemon.exitCode !== null || daemon.signalCode !== null ? r(null) : daemon.once('exit', r)));
    } finally {
      holder.kill('SIGKILL'); // whatever failed above: the namespaces' holder never outlives the test
    }
    for (const c of ids) {
      try {
        rmSync(socketPath(socketAddress(sock, NS, c)), { force: true });
      } catch {
        /* gone */
      }
    }
    const rmEmpty = (d: string) => {
      if (!existsSync(d)) return;
      for (const e of readdirSync(d, { withFileTypes: true })) if (e.isDirectory()) rmEmpty(join(d, e.name));
      try {
        rmdirSync(d);
      } catch {
        /* not empty */
      }
    };
    [...before.runtRoot, ...before.dirs].forEach(rmEmpty);
    if (!t.passing()) {
      t.comment(
        `containerd:\n${daemonLog
          .split('\n')
          .filter((l) => /level=(error|warn)/.test(l))
          .slice(-20)
          .join('\n')}`,
      );
      if (existsSync(join(dir, 'shim.log')))
        t.comment(`shim:\n${readFileSync(join(dir, 'shim.log'), 'utf8').split('\n').slice(-40).join('\n')}`);
    }
    rmSync(dir, { recursive: true, force: true });
  });
  await waitFor('containerd', () => ctr(['version']).status === 0, 60_000);
  for (const [name, cmd] of [
    [IMAGE, ['sh']],
    [PAUSE, ['sleep', '1000000']],
  ] as const) {
    const sub = join(dir, name.includes('pause') ? 'pause' : 'image');
    mkdirSync(sub);
    const r = ctr(['images', 'import', buildBusyboxImage(sub, name, sourceRootfs(), [...cmd])]);
    t.equal(r.status, 0, `import ${name}: ${r.stderr}`);
  }

  // The CRI messages, and a unary call on the RuntimeService as the kubelet makes it.
  const root = new protobuf.Root();
  const protoDir = join(REPO, 'src/shim/proto');
  root.resolvePath = (_o, target) =>
    target.includes('gogo.proto') ? (null as unknown as string) : isAbsolute(target) ? target : join(protoDir, target);
  root.loadSync(join(protoDir, 'k8s.io/cri-api/pkg/apis/runtime/v1/api.proto'), { keepCase: true });
  client = new grpc.Client(`unix://${sock}`, grpc.credentials.createInsecure());
  const call = (method: string, req: Record<string, unknown>): Promise<Record<string, any>> => {
    // eslint-disable-line @typescript-eslint/no-explicit-any
    const Req = root.lookupType(`runtime.v1.${method}Request`);
    const Res = root.lookupType(`runtime.v1.${method}Response`);
    return new Promise((resolve, reject) => {
      client!.makeUnaryRequest(
        `/runtime.v1.RuntimeService/${method}`,
        (v: Record<string, unknown>) => Buffer.from(Req.encode(Req.fromObject(v)).finish()),
        (b: Buffer) => Res.toObject(Res.decode(b), { longs: Number, defaults: true }) as Record<string, unknown>,
        req,
        { deadline: Date.now() + 60_000 },
        (err, res) => (err ? reject(err) : resolve(res!)),
      );
    });
  };
  // grpc-js unrefs its sockets: keep the event loop alive while a call is in flight.
  const keepAlive = setInterval(() => {}, 1000);
  t.teardown(() => clearInterval(keepAlive));
  await t.test(
    'a pod with runtime handler runt: RunPodSandbox, CreateContainer, StartContainer, ExecSync, ContainerStats, StopPodSandbox, RemovePodSandbox',
    async (t) => {
      const version = await call('Version', {});
      t.equal(version.runtime_name, 'containerd', 'the CRI RuntimeService answers');

      const sandboxConfig = {
        metadata: { name: 'runt-pod', uid: `uid-${process.pid}`, namespace: 'default', attempt: 0 },
        log_directory: join(dir, 'pod-logs'),
        linux: { security_context: { namespace_options: { network: 2 /* NODE: the holder's namespace */ } } },
      };
      const pod = await call('RunPodSandbox', { config: sandboxConfig, runtime_handler: 'runt' });
      const podId = String(pod.pod_sandbox_id);
      ids.push(podId);
      t.ok(podId, 'RunPodSandbox with runtime handler runt');
      const container = await call('CreateContainer', {
        pod_sandbox_id: podId,
        sandbox_config: sandboxConfig,
        config: {
          metadata: { name: 'work', attempt: 0 },
          image: { image: IMAGE },
          command: ['sh', '-c', 'echo started; sleep 1000'],
          log_path: 'work.log',
        },
      });
      const cid = String(container.container_id);
      ids.push(cid);
      await call('StartContainer', { container_id: cid });
      const status = await call('ContainerStatus', { container_id: cid });
      t.equal(status.status.state, 1, 'the container is RUNNING');
      const exec = await call('ExecSync', {
        container_id: cid,
        cmd: ['sh', '-c', 'echo exec-out; echo exec-err >&2; exit 3'],
        timeout: 30,
      });
      t.equal(Buffer.from(exec.stdout).toString(), 'exec-out\n', 'ExecSync stdout');
      t.equal(Buffer.from(exec.stderr).toString(), 'exec-err\n', 'ExecSync stderr');
      t.equal(exec.exit_code, 3, 'ExecSync exit code');
      const stats = await call('ContainerStats', { container_id: cid });
      t.ok(
        Number(stats.stats?.memory?.working_set_bytes?.value ?? 0) > 0 || Number(stats.stats?.cpu?.usage_core_nano_seconds?.value ?? 0) > 0,
        `ContainerStats from the shim's metrics: ${JSON.stringify(stats.stats?.memory)}`,
      );
      const tasks = ctr(['task', 'ls']).stdout;
      t.match(tasks, new RegExp(`${podId}\\s+\\d+\\s+RUNNING`), 'the sandbox runs under runt');
      t.match(tasks, new RegExp(`${cid}\\s+\\d+\\s+RUNNING`), 'and the container');
      t.equal(shimPids().length, 1, 'one shim serves the pod');
      const log = await waitFor(
        'the container log',
        () => {
          try {
            return (
              readFileSync(join(dir, 'pod-logs', 'work.log'), 'utf8').includes('started') &&
              readFileSync(join(dir, 'pod-logs', 'work.log'), 'utf8')
            );
          } catch {
            return false;
          }
        },
        20_000,
      ).catch(() => '');
      t.match(log, /stdout F started/, "the CRI log file got the container's output through the fifo");

      await call('StopPodSandbox', { pod_sandbox_id: podId });
      await call('RemovePodSandbox', { pod_sandbox_id: podId });
      await waitFor("the pod's shim to exit", () => shimPids().length === 0, 30_000).catch(() => {});
      t.same(shimPids(), [], "the pod's shim exited after its last container");
      t.notOk(existsSync(join(stateRoot(NS), cid)) || existsSync(join(stateRoot(NS), podId)), "runt's state is gone");
    },
  );
}
