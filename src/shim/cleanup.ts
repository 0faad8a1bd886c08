// `containerd-shim-runt-v2 delete`: containerd lost the shim (killed, crashed) and cleans up after
// it: the container is force-deleted (its processes killed, its cgroups and state removed), the
// rootfs unmounted, and a DeleteResponse written to stdout for containerd. containerd 1.6 also
// runs this after every normal teardown (when the shim's connection closes), so the path where
// nothing is left to do loads neither the library nor the message definitions.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ShimArgs } from './args.js';
import { stateRoot } from './state-root.js';

function rootfsMounted(bundle: string): boolean {
  const target = join(bundle, 'rootfs').replace(/[ \t\n\\]/g, (c) => `\\${c.charCodeAt(0).toString(8).padStart(3, '0')}`);
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .some((l) => l.split(' ')[4] === target);
}

/** A protobuf varint (base 128, least significant group first) of a non-negative integer. */
function varint(n: number): number[] {
  const out: number[] = [];
  for (; n >= 0x80; n = Math.floor(n / 0x80)) out.push((n % 0x80) | 0x80);
  out.push(n);
  return out;
}

/** containerd.task.v2.DeleteResponse { pid = 1; exit_status = 2; exited_at = 3 (Timestamp { seconds
 *  = 1; nanos = 2 }) }, encoded here: three varints are not worth loading protobufjs for in a
 *  process containerd starts after every container. */
export function deleteResponse(pid: number, exitStatus: number, atMs: number): Buffer {
  const at = [0x08, ...varint(Math.floor(atMs / 1000)), 0x10, ...varint((atMs % 1000) * 1e6)];
  return Buffer.from([0x08, ...varint(pid), 0x10, ...varint(exitStatus), 0x1a, ...varint(at.length), ...at]);
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
