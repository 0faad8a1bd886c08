// containerd with its CRI plugin, started for a test or a bench with its own root, state, socket and
// config, and driven the way the kubelet drives it: gRPC (@grpc/grpc-js) with the CRI messages
// (k8s.io/cri-api's api.proto as vendored in containerd 1.6.20). containerd runs in a network and
// mount namespace a holder process keeps: pods share that network namespace (NamespaceMode NODE,
// `podNetwork` below), so nothing touches the host's network and no CNI plugin is needed.
// NODE_EXTRA_CA_CERTS and NODE_OPTIONS are unset for containerd and so for every shim and runt it
// starts. stop() undoes everything start() did, also after a start that failed midway: processes
// by pid, the state runt and runc keep for the containers named with track(), the cgroups the CRI
// made, the directories under /run it made, and the directory given.
// Used by test/shim-cri.test.ts and bench/cri.ts.
import { spawn, spawnSync, type ChildProcess, type SpawnSyncReturns } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';
import * as grpc from '@grpc/grpc-js';
import { buildBusyboxImage } from './busybox-image.js';
import { recordCgroups, removeNewCgroupsPatiently, type CgroupRecord } from './engine-cgroups.js';
import { socketAddress, socketPath } from '../src/shim/address.js';
import { stateRoot } from '../src/shim/state-root.js';
import { Runtime } from '../src/runtime.js';
import { containerdConfig } from './containerd-config.js';
import { removeEmptyTreesPatiently } from './empty-dirs.js';
import { shimPids } from './containerd-shims.js';

/** The repository (this file is bench/cri-containerd.ts, or dist/bench/cri-containerd.js). */
const REPO = ((d) => (existsSync(join(d, 'package.json')) ? d : resolve(d, '..')))(resolve(dirname(fileURLToPath(import.meta.url)), '..'));

/** The CRI's Kubernetes namespace in containerd. */
export const CRI_NAMESPACE = 'k8s.io';

/** A sandbox's linux options for a pod in containerd's own network namespace (the holder's). */
export const podNetwork = { security_context: { namespace_options: { network: 2 /* NODE */ } } };

export interface CriContainerdOptions {
  /** An empty directory for containerd's root, state, sockets, config and the images' layouts. */
  dir: string;
  /** The CRI's runtime handlers: name → runtime_type (and options, e.g. BinaryName). */
  runtimes: Record<string, { type: string; options?: Record<string, string> }>;
  defaultRuntime: string;
  /** The busybox rootfs the images are made of. */
  rootfs: string;
  /** The sandbox (pause) image's name; it runs `sleep`. */
  pauseImage: string;
  /** More images of the same rootfs: name → Cmd. */
  images: Record<string, string[]>;
  /** Added to containerd's environment (which is this process's, less NODE_EXTRA_CA_CERTS and NODE_OPTIONS). */
  env?: NodeJS.ProcessEnv;
}

type Answer = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export class CriContainerd {
  readonly sock: string;
  private holder?: ChildProcess;
  private daemon?: ChildProcess;
  private client?: grpc.Client;
  private keepAlive?: NodeJS.Timeout;
  private log = '';
  private readonly runtIds = new Set<string>();
  private readonly runcIds = new Set<string>();
  /** runt run by containerd's runc shim (BinaryName = runt): its state is in the runc shim's root. */
  private readonly runtCliIds = new Set<string>();
  private readonly cgroups: CgroupRecord;
  private readonly runDirs: string[];
  private readonly env: NodeJS.ProcessEnv;
  private root?: protobuf.Root;

  constructor(private readonly o: CriContainerdOptions) {
    this.sock = join(o.dir, 'containerd.sock');
    // The cgroups containerd's CRI asks for: the namespace `k8s.io` (the pods' cgroupsPath parent)
    // and runt's `runt`; what exists now is someone else's and stays.
    this.cgroups = recordCgroups(['runt', CRI_NAMESPACE]);
    this.runDirs = [
      '/run/containerd/runt',
      stateRoot(CRI_NAMESPACE),
      `/run/containerd/runc/${CRI_NAMESPACE}`,
      '/run/containerd/runc',
      '/run/containerd/s',
      '/run/containerd',
      '/var/log/pods',
    ].filter((d) => !existsSync(d));
    this.env = { ...process.env, PATH: `${join(o.dir, 'bin')}:${process.env.PATH}`, ...o.env };
    delete this.env.NODE_EXTRA_CA_CERTS;
    delete this.env.NODE_OPTIONS;
  }

  /** containerd's stderr, the last 20 kB. */
  get daemonLog(): string {
    return this.log;
  }

  async start(): Promise<void> {
    const { dir } = this.o;
    const bin = join(dir, 'bin');
    mkdirSync(bin, { recursive: true });
    mkdirSync(join(dir, 'cni'), { recursive: true });
    // What install.sh links: the native front (csrc/shim_front.cc), which runs bin/containerd-shim-runt-v2.cjs.
    symlinkSync(join(REPO, 'build/Release/containerd-shim-runt-v2'), join(bin, 'containerd-shim-runt-v2'));
    const runtimes = Object.entries(this.o.runtimes).flatMap(([name, r]) => [
      `  [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.${name}]`,
      `    runtime_type = "${r.type}"`,
      ...(r.options
        ? [
            `    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.${name}.options]`,
            ...Object.entries(r.options).map(([k, v]) => `      ${k} = "${v}"`),
          ]
        : []),
    ]);
    writeFileSync(
      join(dir, 'config.toml'),
      containerdConfig({
        dir,
        sock: this.sock,
        cri: [
          '[plugins."io.containerd.grpc.v1.cri"]',
          `  sandbox_image = "${this.o.pauseImage}"`,
          '  disable_apparmor = true',
          // The pause container asks for oom_score_adj -998; lowering it needs CAP_SYS_RESOURCE, which this
          // sandbox lacks (runc fails the same way): CRI's own switch keeps it at containerd's.
          '  restrict_oom_score_adj = true',
          '  stream_server_address = "127.0.0.1"',
          '  [plugins."io.containerd.grpc.v1.cri".cni]',
          `    conf_dir = "${dir}/cni"`,
          '  [plugins."io.containerd.grpc.v1.cri".containerd]',
          `    default_runtime_name = "${this.o.defaultRuntime}"`,
          ...runtimes,
        ],
      }),
    );

    const holder = spawn('unshare', ['-m', '-n', '--propagation', 'private', 'sleep', '3600'], { stdio: 'ignore' });
    this.holder = holder;
    await poll('the namespaces holder', () => {
      try {
        return readFileSync(`/proc/${holder.pid}/cmdline`, 'utf8').startsWith('sleep');
      } catch {
        return false;
      }
    });
    spawnSync('nsenter', [`--net=/proc/${holder.pid}/ns/net`, 'ip', 'link', 'set', 'lo', 'up']);
    this.daemon = spawn(
      'nsenter',
      [`--mount=/proc/${holder.pid}/ns/mnt`, `--net=/proc/${holder.pid}/ns/net`, 'containerd', '--config', join(dir, 'config.toml')],
      { stdio: ['ignore', 'ignore', 'pipe'], env: this.env },
    );
    this.daemon.stderr!.on('data', (d: Buffer) => {
      this.log = (this.log + d.toString()).slice(-20000);
    });
    await poll('containerd', () => this.ctr(['version']).status === 0, 60_000);
    for (const [name, cmd] of [[this.o.pauseImage, ['sleep', '1000000']], ...Object.entries(this.o.images)] as Array<[string, string[]]>) {
      const sub = join(dir, 'images', name.replace(/[^a-z0-9]+/g, '-'));
      mkdirSync(sub, { recursive: true });
      const r = this.ctr(['images', 'import', buildBusyboxImage(sub, name, this.o.rootfs, cmd)]);
      if (r.status !== 0) throw new Error(`ctr images import ${name}: ${r.stderr.trim()}`);
    }

    // The CRI messages, and a unary call on the RuntimeService as the kubelet makes it.
    const root = new protobuf.Root();
    const protoDir = join(REPO, 'src/shim/proto');
    root.resolvePath = (_o, target) =>
      target.includes('gogo.proto') ? (null as unknown as string) : isAbsolute(target) ? target : join(protoDir, target);
    root.loadSync(join(protoDir, 'k8s.io/cri-api/pkg/apis/runtime/v1/api.proto'), { keepCase: true });
    this.root = root;
    this.client = new grpc.Client(`unix://${this.sock}`, grpc.credentials.createInsecure());
    // grpc-js unrefs its sockets: keep the event loop alive until stop().
    this.keepAlive = setInterval(() => {}, 1000);
  }

  /** `ctr --address SOCK -n k8s.io ARGS…`. */
  ctr(args: string[]): SpawnSyncReturns<string> {
    return spawnSync('ctr', ['--address', this.sock, '-n', CRI_NAMESPACE, ...args], { encoding: 'utf8', timeout: 60_000, env: this.env });
  }

  /** A unary call on the CRI RuntimeService (`Version`, `RunPodSandbox`…), with proto field names. */
  call(method: string, req: Record<string, unknown>): Promise<Answer> {
    const root = this.root;
    const client = this.client;
    if (!root || !client) return Promise.reject(new Error('containerd is not started'));
    const Req = root.lookupType(`runtime.v1.${method}Request`);
    const Res = root.lookupType(`runtime.v1.${method}Response`);
    return new Promise((ok, fail) => {
      client.makeUnaryRequest(
        `/runtime.v1.RuntimeService/${method}`,
        (v: Record<string, unknown>) => Buffer.from(Req.encode(Req.fromObject(v)).finish()),
        (b: Buffer) => Res.toObject(Res.decode(b), { longs: Number, defaults: true }) as Answer,
        req,
        { deadline: Date.now() + 60_000 },
        (err, res) => (err ? fail(err) : ok(res!)),
      );
    });
  }

  /** A pod or container id whose runtime state stop() removes if it is still there (runt: runt's
   *  state root of the namespace; runc: containerd's runc shim's). */
  track(id: string, runtime: 'runt' | 'runc' | 'runt-cli'): void {
    (runtime === 'runt' ? this.runtIds : runtime === 'runc' ? this.runcIds : this.runtCliIds).add(id);
  }

  /** The address of runt's shim serving the pod `podId`. */
  runtShimAddress(podId: string): string {
    return socketAddress(this.sock, CRI_NAMESPACE, podId);
  }

  /** Pids of the long-lived shims this containerd started: runt's (the Node process the front's
   *  `start` became) and, with `runc`, containerd's runc shims. */
  shimPids(which: 'runt' | 'all' = 'runt'): number[] {
    return shimPids(this.sock, which);
  }

  /** Everything start() made, gone; the cgroup directories that stayed (still in use) are returned. */
  async stop(): Promise<string[]> {
    if (this.keepAlive) clearInterval(this.keepAlive);
    try {
      this.client?.close();
      for (const pid of this.shimPids('all')) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          /* gone */
        }
      }
      const rt = new Runtime({ root: stateRoot(CRI_NAMESPACE) });
      for (const c of this.runtIds) await rt.delete(c, { force: true }).catch(() => {});
      const runtUnderRunc = new Runtime({ root: `/run/containerd/runc/${CRI_NAMESPACE}` });
      for (const c of this.runtCliIds) await runtUnderRunc.delete(c, { force: true }).catch(() => {});
      for (const c of this.runcIds)
        spawnSync('runc', ['--root', `/run/containerd/runc/${CRI_NAMESPACE}`, 'delete', '--force', c], { stdio: 'ignore' });
      const daemon = this.daemon;
      if (daemon && daemon.exitCode === null && daemon.signalCode === null) {
        const exited = new Promise((r) => daemon.once('exit', r));
        daemon.kill('SIGTERM');
        const late = setTimeout(() => daemon.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(late);
      }
    } finally {
      this.holder?.kill('SIGKILL'); // whatever failed above: the namespaces' holder never outlives this
    }
    for (const c of this.runtIds) rmSync(socketPath(this.runtShimAddress(c)), { force: true });
    await removeEmptyTreesPatiently(this.runDirs);
    const stayed = await removeNewCgroupsPatiently(this.cgroups);
    rmSync(this.o.dir, { recursive: true, force: true });
    return stayed;
  }
}

async function poll(what: string, probe: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
