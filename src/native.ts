// Typed access to the C++ addon (csrc/). The addon holds mechanism only: no policy lives there.
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { packageRoot } from './package-root.js';
import type { SpawnConfig } from './plan/steps.js';

export interface ChildMessage {
  /** MSG.* from plan/steps.ts; 0 means end of file (the child exec'd or died). */
  type: number;
  step: number;
  errno: number;
  /** MSG_PID: the pid; MSG_SYNC: the tag; MSG_FD: the tag. */
  pid: number;
  usec: number;
  text: string;
  /** Fd received with SCM_RIGHTS (MSG_PID: pidfd; MSG_FD: the fd), else -1. */
  fd: number;
}

export interface ExitStatus {
  /** Exit code, or null when killed by a signal. */
  code: number | null;
  /** Signal number, or null when it exited. */
  signal: number | null;
}

export interface SpawnResult {
  pid: number;
  pidfd: number;
  /** The parent's end of the SOCK_SEQPACKET sync socket (CLOEXEC, non-blocking). */
  sock: number;
}

export interface Native {
  /** Prepare the steps as C structures, clone3 with cfg.cloneFlags | CLONE_PIDFD, return at once. */
  spawn(cfg: SpawnConfig): SpawnResult;
  /** The same, with clone3 and the exec of runt-init done on the thread pool: the event loop goes on
   *  while the kernel makes the namespaces. */
  spawnAsync(cfg: SpawnConfig): Promise<SpawnResult>;
  /** Non-blocking receive of one message; null when nothing is waiting. */
  recv(sock: number): ChildMessage | null;
  /** Answer a sync point; payload (UTF-8, up to 64 KiB) is stored in the child's slot. */
  ack(sock: number, payload?: string): void;
  abort(sock: number): void;
  /** Resolves once fd is readable (or has hung up). One-shot; uses the event loop (uv_poll). */
  whenReadable(fd: number): Promise<void>;
  /** waitid(P_PIDFD, WEXITED | WNOHANG): null while the process runs. */
  waitPidfd(pidfd: number): ExitStatus | null;
  pidfdOpen(pid: number): number;
  pidfdSendSignal(pidfd: number, signal: number): void;
  close(fd: number): void;
  mkfifo(path: string, mode: number): void;
  /** eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK): e.g. for cgroup v1 memory.oom_control notifications. */
  eventfd(): number;
  /** pipe2(O_CLOEXEC): [read end, write end]. */
  pipe(): [number, number];
  /** flock(fd, (shared ? LOCK_SH : LOCK_EX) | (wait ? 0 : LOCK_NB)); false when busy and !wait. */
  flock(fd: number, wait: boolean, shared?: boolean): boolean;
  /** prctl(PR_SET_CHILD_SUBREAPER, 1) on the runtime process. */
  setSubreaper(): void;
  /** Connect to a unix socket path, send `payload` with fd attached (SCM_RIGHTS) and close: the
   *  OCI console socket (payload: a name) and the seccomp agent (payload: the container state). */
  sendFd(socketPath: string, fd: number, payload: string): void;
  /** A listening unix stream socket at path (non-blocking; the path must not exist). */
  listenUnix(path: string): number;
  /** The next connection on a listening socket (non-blocking), or -1 when none waits. */
  acceptUnix(listenFd: number): number;
  /** A non-blocking unix datagram socket bound at path ("@name": abstract), the file chmod'ed to mode. */
  bindUnixDgram(path: string, mode: number): number;
  /** The next datagram as text, or null when none waits. */
  recvDgram(fd: number): string | null;
  /** One datagram to the unix socket at path ("@name": abstract). */
  sendUnixDgram(path: string, data: string): void;
  /** One message without waiting: the data and the fd it carried (-1: none); data "" and fd -1 at
   *  end of file; null when nothing is waiting. */
  recvFd(sock: number): { data: string; fd: number } | null;
  /** TIOCSWINSZ on a terminal fd. */
  setWinsize(fd: number, rows: number, cols: number): void;
  /** cfmakeraw on a terminal (output processing off too); returns the previous settings. */
  makeRaw(fd: number): Buffer;
  /** Put back the settings makeRaw returned. */
  restoreTerminal(fd: number, saved: Buffer): void;
  /** Compile an OCI linux.seccomp object to a BPF program (struct sock_filter array). */
  compileSeccomp(seccomp: unknown): Uint8Array;
  /** The version of the linked libseccomp ("2.5.4", from seccomp_version()), or null if it does not say. */
  seccompVersion(): string | null;
  /** Clear O_NONBLOCK on fd. */
  setBlocking(fd: number): void;
  /** Point fds 0-2 at /dev/null (before exiting while a container keeps the stdio runt was given). */
  detachStdio(): void;
  /** Load `insns` (little-endian struct bpf_insn[]) as a BPF_PROG_TYPE_CGROUP_DEVICE program and
   *  attach it to the cgroup directory open at cgroupDirFd, detaching the device programs that were
   *  attached there before (so it replaces the filter). */
  attachDeviceFilter(cgroupDirFd: number, insns: Uint8Array, license: string): void;
  /** How many BPF_CGROUP_DEVICE programs are attached to the cgroup itself (BPF_PROG_QUERY). */
  queryDeviceFilters(cgroupDirFd: number): number;
  /** mount(2); fstype and data "" for none. */
  mount(source: string, target: string, fstype: string, flags: number, data: string): void;
  /** umount2(2). */
  umount2(target: string, flags: number): void;
  /** A detached clone of the mount at `source` (open_tree), idmapped (mount_setattr MOUNT_ATTR_IDMAP)
   *  with a user namespace holding the maps ("containerID hostID size" lines); returns its fd. */
  idmappedTree(source: string, uidMap: string, gidMap: string, cloneRecursive: boolean, idmapRecursive: boolean): number;
  /** socket(AF_NETLINK, SOCK_RAW|SOCK_CLOEXEC, NETLINK_ROUTE) in the caller's network namespace. */
  netlinkSocket(): number;
  /** mknod(2): a device node, FIFO or (0:0 char device) overlayfs whiteout; the last component is created, never followed. */
  mknod(path: string, mode: number, major: number, minor: number): void;
  /** lsetxattr(2) with the value as bytes (security.capability and friends are binary). */
  lsetxattr(path: string, name: string, value: Buffer): void;
  /** llistxattr(2): the names ([] where the file system has no xattrs). */
  llistxattr(path: string): string[];
  /** lgetxattr(2): the value, or null when the file has no such attribute. */
  lgetxattr(path: string, name: string): Buffer | null;
  /** Opens `rel` (relative to /proc, e.g. "1234/uid_map") beneath a procfs nothing is mounted over,
   *  without following symlinks or crossing mounts, checked to be that procfs's file
   *  (csrc/procfs.h). A close-on-exec fd; throws with code EXDEV when a check fails. */
  openProcFile(rel: string, flags: number): number;
  /** On the thread pool: a TCP connection to address:port (family 4 or 6), `request` sent, the
   *  response read up to the end of its head. `rest` holds the body bytes that came with the head;
   *  the fd (close-on-exec, blocking, reads and writes bounded by timeoutMs) is the caller's to close. */
  blobConnect(address: string, family: number, port: number, request: Buffer, timeoutMs: number): Promise<BlobConnection>;
  /** On the thread pool: sha256 over `file`'s first hashPrefix bytes, then `rest` and the next
   *  bytes read from `sock` written to `file` (opened for appending) and hashed until `length`
   *  body bytes are written, or the stream ends (`ended` 'eof'), or no byte came for timeoutMs
   *  ('timeout'). `digest` (hex) only when 'done'. A failed read or write rejects with its errno
   *  error (`code`), `.bytes` set to the bytes written. onProgress gets the body bytes written. */
  blobCopy(
    sock: number,
    file: number,
    rest: Buffer,
    length: number,
    hashPrefix: number,
    timeoutMs: number,
    onProgress?: (bytes: number) => void,
  ): Promise<{ bytes: number; digest: string; ended: 'done' | 'eof' | 'timeout' }>;
  /** sha256 of `data` (hex), with the OpenSSL Node is built with. */
  sha256(data: Buffer): string;
  /** A sha256 context for a blob that arrives through Node (csrc/blob_sink.cc); one call at a time. */
  blobSinkNew(): BlobSink;
  /** On the thread pool: hashes `file`'s first `length` bytes (a resumed partial). */
  blobSinkHashFile(sink: BlobSink, file: number, length: number): Promise<void>;
  /** On the thread pool: hashes `data`, then appends all of it to `file`; a failed write rejects
   *  with its errno error (`code`). `data` must not change until the promise settles. */
  blobSinkWrite(sink: BlobSink, file: number, data: Buffer): Promise<void>;
  /** The sha256 (hex) of everything hashed; the sink is spent. */
  blobSinkDigest(sink: BlobSink): string;
}

/** An opaque sha256 context held by the addon. */
export type BlobSink = { readonly __blobSink: unique symbol };

export interface BlobConnection {
  fd: number;
  head: Buffer;
  rest: Buffer;
}

let loaded: Native | undefined;

export function native(): Native {
  // build/Release under the package root, from dist/src, from src/ (run from source) and from the CLI
  // bundle alike.
  if (!loaded) {
    const root = packageRoot();
    loaded = createRequire(join(root, 'package.json'))(join(root, 'build/Release/runt.node')) as Native;
  }
  return loaded;
}
