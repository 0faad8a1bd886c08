// runt's shim under containerd's CRI plugin, driven the way the kubelet drives it (bench/cri-containerd.ts:
// containerd with CRI in a network and mount namespace a holder keeps, gRPC with the CRI messages), a
// pod whose runtime handler is runt (runtime_type io.containerd.runt.v2). The pod shares containerd's
// network namespace (NamespaceMode NODE), so nothing touches the host's network and no CNI plugin is
// needed.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { sourceRootfs, waitFor } from './helpers/index.js';
import { CRI_NAMESPACE, CriContainerd, podNetwork } from '../bench/cri-containerd.js';
import { stateRoot } from '../src/shim/state-root.js';
import { holdContainerdLock } from './helpers/containerd-lock.js';

const IMAGE = 'localhost/runt-cri-test-busybox:latest';
const PAUSE = 'localhost/runt-cri-test-pause:latest';

t.setTimeout(240_000);

const has = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
if (process.getuid?.() !== 0) t.skip('containerd needs root', () => {});
else if (!has('containerd') || !has('ctr') || !has('unshare') || !has('nsenter'))
  t.skip('containerd, ctr, unshare or nsenter is missing', () => {});
else await main();

async function main(): Promise<void> {
  await holdContainerdLock(t);
  const dir = mkdtempSync('/tmp/runt-shim-cri-');
  chmodSync(dir, 0o755);
  const cri = new CriContainerd({
    dir,
    runtimes: { runt: { type: 'io.containerd.runt.v2' } },
    defaultRuntime: 'runt',
    rootfs: sourceRootfs(),
    pauseImage: PAUSE,
    images: { [IMAGE]: ['sh'] },
    env: { RUNT_SHIM_LOG: join(dir, 'shim.log') },
  });
  t.teardown(async () => {
    if (!t.passing()) {
      t.comment(
        `containerd:\n${cri.daemonLog
          .split('\n')
          .filter((l) => /level=(error|warn)/.test(l))
          .slice(-20)
          .join('\n')}`,
      );
      if (existsSync(join(dir, 'shim.log')))
        t.comment(`shim:\n${readFileSync(join(dir, 'shim.log'), 'utf8').split('\n').slice(-40).join('\n')}`);
    }
    const stayed = await cri.stop();
    if (stayed.length) t.comment(`cgroup directories still in use, left in place: ${stayed.join(', ')}`);
  });
  await cri.start();
  const call = cri.call.bind(cri);
  const ctr = (args: string[]) => cri.ctr(args);
  const shimPids = () => cri.shimPids();
  await t.test(
    'a pod with runtime handler runt: RunPodSandbox, CreateContainer, StartContainer, ExecSync, ContainerStats, StopPodSandbox, RemovePodSandbox',
    async (t) => {
      const version = await call('Version', {});
      t.equal(version.runtime_name, 'containerd', 'the CRI RuntimeService answers');

      const sandboxConfig = {
        metadata: { name: 'runt-pod', uid: `uid-${process.pid}`, namespace: 'default', attempt: 0 },
        log_directory: join(dir, 'pod-logs'),
        linux: podNetwork,
      };
      const pod = await call('RunPodSandbox', { config: sandboxConfig, runtime_handler: 'runt' });
      const podId = String(pod.pod_sandbox_id);
      cri.track(podId, 'runt');
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
      cri.track(cid, 'runt');
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
      // The shims' log (RUNT_SHIM_LOG): the front handed the container to the pod's shim itself.
      t.match(
        readFileSync(join(dir, 'shim.log'), 'utf8'),
        `start ${cid}: claimed by the shim at ${cri.runtShimAddress(podId)}, no Node started`,
        "the container's start was claimed by the pod's shim without Node",
      );
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
      t.notOk(existsSync(join(stateRoot(CRI_NAMESPACE), cid)) || existsSync(join(stateRoot(CRI_NAMESPACE), podId)), "runt's state is gone");
    },
  );
}
