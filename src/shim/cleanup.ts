// `containerd-shim-runt-v2 delete`: containerd lost the shim (killed, crashed) and cleans up after
// it: the container is force-deleted (its processes killed, its cgroups and state removed), the
// rootfs unmounted, and a DeleteResponse written to stdout for containerd.
import { Runtime } from '../runtime.js';
import { ContainerNotFoundError } from '../errors.js';
import type { ShimArgs } from './args.js';
import { stateRoot } from './address.js';
import { unmountRootfs } from './rootfs.js';
import { encode, timestamp } from './proto.js';

export async function deleteCommand(args: ShimArgs): Promise<Buffer> {
  const bundle = args.bundle || process.cwd();
  const rt = new Runtime({ root: stateRoot(args.namespace) });
  let pid = 0;
  try {
    pid = rt.saved(args.id).pid;
    await rt.delete(args.id, { force: true });
  } catch (e) {
    if (!(e instanceof ContainerNotFoundError)) process.stderr.write(`runt shim delete ${args.id}: ${(e as Error).message}\n`);
  }
  unmountRootfs(bundle);
  // As containerd's own shims report a container they lost: killed (128 + SIGKILL).
  return encode('containerd.task.v2.DeleteResponse', { pid, exit_status: 137, exited_at: timestamp(Date.now()) });
}
