// `containerd-shim-runt-v2 delete`: containerd lost the shim (killed, crashed) and cleans up after
// it: the container is force-deleted (its processes killed, its cgroups and state removed), the
// rootfs unmounted, and a DeleteResponse written to stdout for containerd. containerd 1.6 also
// runs this after every normal teardown (when the shim's connection closes), so the path where
// nothing is left to do loads neither the library nor the message definitions.
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type protobuf from 'protobufjs';
import type { ShimArgs } from './args.js';
import { stateRoot } from './address.js';
import { packageRoot } from '../package-root.js';

function rootfsMounted(bundle: string): boolean {
  const target = join(bundle, 'rootfs').replace(/[ \t\n\\]/g, (c) => `\\${c.charCodeAt(0).toString(8).padStart(3, '0')}`);
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .some((l) => l.split(' ')[4] === target);
}

/** containerd.task.v2.DeleteResponse { pid = 1; exit_status = 2; exited_at = 3 (Timestamp) },
 *  written field by field with protobufjs's Writer as its generated (static) code does. */
function deleteResponse(pid: number, exitStatus: number, atMs: number): Buffer {
  const { Writer } = createRequire(join(packageRoot(), 'package.json'))('protobufjs/minimal') as typeof protobuf;
  const w = Writer.create();
  w.uint32((1 << 3) | 0).uint32(pid);
  w.uint32((2 << 3) | 0).uint32(exitStatus);
  w.uint32((3 << 3) | 2)
    .fork()
    .uint32((1 << 3) | 0)
    .int64(Math.floor(atMs / 1000))
    .uint32((2 << 3) | 0)
    .int32((atMs % 1000) * 1e6)
    .ldelim();
  return Buffer.from(w.finish());
}

export async function deleteCommand(args: ShimArgs): Promise<Buffer> {
  const bundle = args.bundle || process.cwd();
  let pid = 0;
  if (existsSync(join(stateRoot(args.namespace), args.id))) {
    const [{ Runtime }, { ContainerNotFoundError }] = await Promise.all([import('../runtime.js'), import('../errors.js')]);
    const rt = new Runtime({ root: stateRoot(args.namespace) });
    try {
      pid = rt.saved(args.id).pid;
      await rt.delete(args.id, { force: true });
    } catch (e) {
      if (!(e instanceof ContainerNotFoundError)) process.stderr.write(`runt shim delete ${args.id}: ${(e as Error).message}\n`);
    }
  }
  if (rootfsMounted(bundle)) (await import('./rootfs.js')).unmountRootfs(bundle);
  // As containerd's own shims report a container they lost: killed (128 + SIGKILL).
  return deleteResponse(pid, 137, Date.now());
}
