// `containerd-shim-runt-v2 delete`: containerd lost the shim (killed, crashed) and cleans up after
// it: the container is force-deleted (its processes killed, its cgroups and state removed), the
// rootfs unmounted, and a DeleteResponse written to stdout for containerd. containerd 1.6 also
// runs this after every normal teardown (when the shim's connection closes): then the shim has
// deleted the container itself and left the DeleteResponse it answered in the bundle
// (DELETE_RESPONSE_FILE), which is the answer; the path where nothing is left to do loads neither
// the library nor the message definitions. The native front (csrc/shim_front.cc) answers with that
// file without starting Node.
import { closeSync, constants as fsc, existsSync, fstatSync, openSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ShimArgs } from './args.js';
import { stateRoot } from './state-root.js';
import { varint } from './wire.js';

function rootfsMounted(bundle: string): boolean {
  const target = join(bundle, 'rootfs').replace(/[ \t\n\\]/g, (c) => `\\${c.charCodeAt(0).toString(8).padStart(3, '0')}`);
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .some((l) => l.split(' ')[4] === target);
}

/** containerd.task.v2.DeleteResponse { pid = 1; exit_status = 2; exited_at = 3 (Timestamp { seconds
 *  = 1; nanos = 2 }) }, encoded here: three varints are not worth loading protobufjs for in a
 *  process containerd starts after every container. */
export function deleteResponse(pid: number, exitStatus: number, atMs: number): Buffer {
  const at = [0x08, ...varint(Math.floor(atMs / 1000)), 0x10, ...varint((atMs % 1000) * 1e6)];
  return Buffer.from([0x08, ...varint(pid), 0x10, ...varint(exitStatus), 0x1a, ...varint(at.length), ...at]);
}

/** The file, in a container's bundle, where the shim that deleted the container leaves the
 *  DeleteResponse it answered (csrc/shim_front.cc reads it by this name). */
export const DELETE_RESPONSE_FILE = 'runt-delete-response';

/** Called by the shim once it has deleted a container (state, cgroups, rootfs mount): best effort,
 *  since without it `delete` looks for itself. */
export function leaveDeleteResponse(bundle: string, pid: number, exitStatus: number, atMs: number): void {
  try {
    writeFileSync(join(bundle, DELETE_RESPONSE_FILE), deleteResponse(pid, exitStatus, atMs), { mode: 0o600 });
  } catch {
    /* a bundle gone already */
  }
}

/** The response the shim left (a small regular file, no symlink), removed; undefined when none. */
function takeDeleteResponse(bundle: string): Buffer | undefined {
  const file = join(bundle, DELETE_RESPONSE_FILE);
  let fd;
  try {
    fd = openSync(file, fsc.O_RDONLY | fsc.O_NOFOLLOW);
  } catch {
    return undefined;
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile() || st.uid !== process.geteuid?.() || st.size === 0 || st.size > 255) return undefined;
    const data = readFileSync(fd);
    unlinkSync(file);
    return data;
  } finally {
    closeSync(fd);
  }
}

export async function deleteCommand(args: ShimArgs): Promise<Buffer> {
  const bundle = args.bundle || process.cwd();
  const left = takeDeleteResponse(bundle);
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
  return left ?? deleteResponse(pid, 137, Date.now());
}
